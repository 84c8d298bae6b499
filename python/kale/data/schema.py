"""The one multiple-choice schema every loader produces.

Evaluation scores it and synthesis links entities in it, so a new dataset only needs a
loader into `Question`, never changes downstream.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kale.exceptions import InputError

if TYPE_CHECKING:  # polars is a dependency, but keep `import kale.data` cheap
    import polars as pl

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Question:
    """One question.

    `answer` indexes `choices`. For generative tasks (BBH) `choices` holds the single
    target string and `answer` is 0. `subject` is the MMLU subject, the BBH subtask, or the
    CommonsenseQA `question_concept` (its ConceptNet concept, useful for entity linking).
    """

    id: str
    question: str
    choices: list[str]
    answer: int
    passage: str | None = None
    subject: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.question, str) or not self.question.strip():
            raise ValueError("question text is empty")
        if not self.choices or not all(isinstance(c, str) for c in self.choices):
            raise ValueError("choices must be a non-empty list of strings")
        if not isinstance(self.answer, int) or not 0 <= self.answer < len(self.choices):
            raise ValueError(f"answer {self.answer!r} is not an index into {len(self.choices)} choices")

    @property
    def gold(self) -> str:
        return self.choices[self.answer]


def make_question(where: str, row: int | str, **fields) -> Question:
    """Build a Question, turning a schema violation into an InputError naming file and row."""
    try:
        fields["choices"] = list(fields["choices"])
        return Question(**fields)
    except (ValueError, TypeError, KeyError) as err:
        raise InputError(f"{where}: row {row}: {err}") from None


def letter_index(letter: str, labels: list[str] | None = None, where: str = "", row: int | str = "?") -> int:
    """'C' -> 2, or the position of `letter` among explicit labels (ARC uses '1'..'4' too)."""
    key = str(letter).strip()
    if labels is not None and key in labels:
        return labels.index(key)
    if len(key) == 1 and key.upper() in LETTERS:
        return LETTERS.index(key.upper())
    accepted = labels if labels is not None else "a letter A-Z"
    raise InputError(f"{where}: row {row}: answer {letter!r} is not one of {accepted}")


def dedupe(questions: Iterable[Question]) -> list[Question]:
    """Keep the first question per id, in order (some sources repeat a question per choice)."""
    seen: set[str] = set()
    out = []
    for q in questions:
        if q.id not in seen:
            seen.add(q.id)
            out.append(q)
    return out


def to_polars(questions: Iterable[Question]) -> pl.DataFrame:
    import polars as pl

    rows = [asdict(q) for q in questions]
    schema = {
        "id": pl.String,
        "question": pl.String,
        "choices": pl.List(pl.String),
        "answer": pl.Int64,
        "passage": pl.String,
        "subject": pl.String,
        "source": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def from_polars(frame: pl.DataFrame, where: str = "<dataframe>") -> list[Question]:
    missing = [c for c in ("id", "question", "choices", "answer") if c not in frame.columns]
    if missing:
        raise InputError(
            f"{where}: missing column(s) {missing}; the schema is id, question, choices, answer, "
            "and optionally passage, subject, source"
        )
    out = []
    for i, row in enumerate(frame.iter_rows(named=True)):
        out.append(
            make_question(
                where,
                i + 1,
                id=str(row["id"]),
                question=row["question"],
                choices=row["choices"] or [],
                answer=row["answer"],
                passage=row.get("passage"),
                subject=row.get("subject"),
                source=row.get("source") or Path(where).name,
            )
        )
    return out
