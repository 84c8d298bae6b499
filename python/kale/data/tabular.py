"""Plain files (JSONL, JSON, Parquet, CSV, Arrow) into Questions, by schema or column mapping."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from kale.data.hf_schemas import convert
from kale.data.schema import LETTERS, Question, make_question
from kale.exceptions import InputError, KaleFileNotFoundError, KaleValueError

SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".tsv", ".arrow", ".jsonl.gz")
MAPPABLE = ("id", "question", "choices", "answer", "passage", "subject")


def read_rows(path: str | Path) -> list[dict]:
    """Rows of a data file as dicts; BBH's `{"examples": [...]}` JSON is unwrapped."""
    import polars as pl

    path = Path(path)
    if not path.exists():
        raise KaleFileNotFoundError(f"{path}: no such file or folder")
    name = path.name.lower()
    if path.is_dir() or name.endswith(".arrow"):
        from kale.data.olmo import read_arrow_dir

        return read_arrow_dir(path).to_dicts()
    if name.endswith((".jsonl", ".jsonl.gz")):
        return _read_jsonl(path)
    if name.endswith(".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise InputError(f"{path}: line {err.lineno}: invalid JSON ({err.msg})") from None
        if isinstance(data, Mapping) and isinstance(data.get("examples"), list):
            return list(data["examples"])
        if isinstance(data, list):
            return data
        raise InputError(f'{path}: expected a JSON list of rows or {{"examples": [...]}}')
    if name.endswith(".parquet"):
        return pl.read_parquet(path).to_dicts()
    if name.endswith((".csv", ".tsv")):
        return pl.read_csv(path, separator="\t" if name.endswith(".tsv") else ",", infer_schema=False).to_dicts()
    raise KaleValueError(f"{path}: unsupported file type; accepted: {', '.join(SUFFIXES)} or a datasets folder")


def _read_jsonl(path: Path) -> list[dict]:
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{path}: line {lineno}: invalid JSON ({err.msg})") from None
            if not isinstance(row, dict):
                raise InputError(f"{path}: line {lineno}: expected a JSON object, got {type(row).__name__}")
            rows.append(row)
    return rows


def _choices_from(value: object, where: str, row: int) -> list[str]:
    if isinstance(value, str):  # CSV cells hold lists as JSON text
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InputError(f"{where}: row {row}: choices {value!r:.60} is not a JSON list") from None
    if isinstance(value, Mapping) and "text" in value:
        value = value["text"]
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InputError(f"{where}: row {row}: choices must be a list, got {type(value).__name__}")
    return [str(v) for v in value]


def _answer_from(value: object, choices: list[str], where: str, row: int) -> int:
    """An index (0-based), a letter, or the text of one of the choices."""
    if isinstance(value, bool):
        raise InputError(f"{where}: row {row}: answer {value!r} is not an index, letter or choice text")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if len(text) == 1 and text.upper() in LETTERS[: len(choices)]:
        return LETTERS.index(text.upper())
    if text in choices:
        return choices.index(text)
    raise InputError(
        f"{where}: row {row}: answer {value!r} is not an index, a letter A-{LETTERS[len(choices) - 1]} "
        f"or one of the choices {choices}"
    )


def map_rows(rows: list[dict], mapping: Mapping[str, str | Sequence[str]], where: str, source: str) -> list[Question]:
    """Apply a column mapping {schema field: column (or list of columns for choices)}."""
    unknown = set(mapping) - set(MAPPABLE)
    if unknown:
        raise KaleValueError(f"column mapping has unknown field(s) {sorted(unknown)}; accepted: {list(MAPPABLE)}")
    for needed in ("question", "choices", "answer"):
        if needed not in mapping:
            raise KaleValueError(f"column mapping needs '{needed}'; accepted fields: {list(MAPPABLE)}")
    columns = set(rows[0]) if rows else set()
    wanted = [c for v in mapping.values() for c in ([v] if isinstance(v, str) else v)]
    absent = [c for c in wanted if c not in columns]
    if rows and absent:
        raise InputError(f"{where}: column(s) {absent} not found; the file has {sorted(columns)}")
    out = []
    for i, row in enumerate(rows, 1):
        spec = mapping["choices"]
        if isinstance(spec, str):
            choices = _choices_from(row[spec], where, i)
        else:
            choices = [str(row[c]) for c in spec if row[c] not in (None, "")]
        out.append(
            make_question(
                where,
                i,
                id=str(row[mapping["id"]]) if "id" in mapping else str(i),
                question=row[mapping["question"]],
                choices=choices,
                answer=_answer_from(row[mapping["answer"]], choices, where, i),
                passage=row[mapping["passage"]] if "passage" in mapping else None,
                subject=row[mapping["subject"]] if "subject" in mapping else None,
                source=source,
            )
        )
    return out


def load_file(
    path: str | Path,
    mapping: Mapping[str, str | Sequence[str]] | None = None,
    schema: str | None = None,
    source: str | None = None,
) -> list[Question]:
    """Any supported file: by explicit `mapping`, by `schema` name, or by its detected schema."""
    path = Path(path)
    rows = read_rows(path)
    source = source or path.stem
    if mapping is not None:
        return map_rows(rows, mapping, str(path), source)
    kw = {"subtask": path.stem} if schema == "bbh" or (rows and {"input", "target"} <= set(rows[0])) else {}
    if rows and schema in (None, "kale") and isinstance(rows[0].get("answer"), str) and "choices" in rows[0]:
        # CSV files hold everything as text; coerce the common schema's list and index
        rows = [
            {
                **r,
                "choices": _choices_from(r["choices"], str(path), i),
                "answer": _answer_from(r["answer"], _choices_from(r["choices"], str(path), i), str(path), i),
            }
            for i, r in enumerate(rows, 1)
        ]
    return convert(rows, str(path), source, schema, **kw)
