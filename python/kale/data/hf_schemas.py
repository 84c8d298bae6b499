"""Row converters for the Hugging Face schemas of the paper's benchmarks.

Each takes the rows of one file (dicts, as polars or json gives them) and returns Questions;
`detect_schema` picks the converter from the column names so a user can point kale at an
exported dataset without saying which one it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from kale.data.schema import Question, letter_index, make_question
from kale.exceptions import InputError

Row = Mapping[str, object]


def labelled_choices(rows: Iterable[Row], where: str, source: str) -> list[Question]:
    """CommonsenseQA, ARC, OpenBookQA: choices = {label: [...], text: [...]}, answerKey."""
    out = []
    for i, row in enumerate(rows, 1):
        choices = row.get("choices")
        if not isinstance(choices, Mapping) or "text" not in choices or "label" not in choices:
            raise InputError(f"{where}: row {i}: 'choices' must be {{label: [...], text: [...]}}, got {choices!r:.80}")
        labels = [str(x) for x in choices["label"]]
        question = row.get("question", row.get("question_stem"))
        if isinstance(question, Mapping):  # the original CommonsenseQA jsonl nests {stem, choices}
            question = question.get("stem")
        out.append(
            make_question(
                where,
                i,
                id=str(row.get("id", i)),
                question=question,
                choices=list(choices["text"]),
                answer=letter_index(str(row.get("answerKey", "")), labels, where, i),
                subject=row.get("question_concept"),
                source=source,
            )
        )
    return out


def mmlu(rows: Iterable[Row], where: str, source: str) -> list[Question]:
    """hails/mmlu_no_train and cais/mmlu: question, subject, choices [4], answer int."""
    out = []
    for i, row in enumerate(rows, 1):
        subject = row.get("subject") or None
        answer = row.get("answer")
        if isinstance(answer, str):
            answer = letter_index(answer, None, where, i)
        out.append(
            make_question(
                where,
                i,
                id=str(row.get("id") or f"{subject or 'mmlu'}-{i}"),
                question=row.get("question"),
                choices=list(row.get("choices") or []),
                answer=answer,
                subject=subject,
                source=source,
            )
        )
    return out


def race(rows: Iterable[Row], where: str, source: str) -> list[Question]:
    """RACE (ehovy/race): example_id, article, question, options [4], answer letter."""
    out = []
    per_article: Counter[str] = Counter()
    for i, row in enumerate(rows, 1):
        article_id = str(row.get("example_id", f"race-{i}"))
        per_article[article_id] += 1  # example_id names the article, shared by its questions
        out.append(
            make_question(
                where,
                i,
                id=f"{article_id}#{per_article[article_id]}",
                question=row.get("question"),
                choices=list(row.get("options") or []),
                answer=letter_index(str(row.get("answer", "")), None, where, i),
                passage=row.get("article"),
                source=source,
            )
        )
    return out


def bbh(rows: Iterable[Row], where: str, source: str, subtask: str | None = None) -> list[Question]:
    """BIG-Bench Hard: input, target; scored generatively, so the target is the one choice."""
    out = []
    for i, row in enumerate(rows, 1):
        target = row.get("target")
        if not isinstance(target, str):
            raise InputError(f"{where}: row {i}: BBH 'target' must be a string, got {target!r:.80}")
        out.append(
            make_question(
                where,
                i,
                id=str(row.get("id") or f"{subtask or 'bbh'}-{i}"),
                question=row.get("input"),
                choices=[target],
                answer=0,
                subject=subtask,
                source=source,
            )
        )
    return out


def common(rows: Iterable[Row], where: str, source: str) -> list[Question]:
    """kale's own schema (what `to_polars` writes)."""
    out = []
    for i, row in enumerate(rows, 1):
        out.append(
            make_question(
                where,
                i,
                id=str(row.get("id", i)),
                question=row.get("question"),
                choices=list(row.get("choices") or []),
                answer=row.get("answer"),
                passage=row.get("passage"),
                subject=row.get("subject"),
                source=row.get("source") or source,
            )
        )
    return out


SCHEMAS: dict[str, tuple[frozenset[str], Callable[..., list[Question]]]] = {
    # checked in order: the most specific column sets first
    "race": (frozenset({"article", "question", "options", "answer"}), race),
    "bbh": (frozenset({"input", "target"}), bbh),
    "labelled_choices": (frozenset({"choices", "answerKey"}), labelled_choices),
    "kale": (frozenset({"id", "question", "choices", "answer"}), common),
    "mmlu": (frozenset({"question", "choices", "answer"}), mmlu),
}


def detect_schema(columns: Iterable[str], where: str) -> str:
    cols = set(columns)
    for name, (needed, _) in SCHEMAS.items():
        if needed <= cols:
            return name
    accepted = "; ".join(f"{n}: {sorted(c)}" for n, (c, _) in SCHEMAS.items())
    raise InputError(
        f"{where}: columns {sorted(cols)} match no known schema. Accepted: {accepted}; or pass a column mapping"
    )


def convert(rows: list[Row], where: str, source: str, schema: str | None = None, **kw) -> list[Question]:
    if not rows:
        return []
    schema = schema or detect_schema(rows[0].keys(), where)
    if schema not in SCHEMAS:
        raise InputError(f"{where}: unknown schema {schema!r}; accepted: {sorted(SCHEMAS)}")
    return SCHEMAS[schema][1](rows, where, source, **kw)
