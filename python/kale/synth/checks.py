"""Rationale checks: a failed row keeps its text and the reasons; nothing is dropped.

Besides the form (empty, too short or long, degenerate, a leaked option letter), the checks
read the content, because a rationale that points at a wrong answer teaches KA the wrong
answer: it must not name a wrong choice without the gold one, must not just repeat the
question, and (when the writer was asked to explain) must not be a bare "the answer is X".
Words are compared lower-cased with a light plural/inflection stem, so "fishes" names "fish".
"""

from __future__ import annotations

import re

from kale.data.schema import LETTERS

REPEAT_SHARE = 0.8  # a rationale with this share of its words taken from the question repeats it
STUB_WORDS = 4  # fewer words than this outside "the answer is ..." sentences: a stub


def _stem(word: str) -> str:
    for suffix, repl in (("ies", "y"), ("ves", "f"), ("es", ""), ("s", ""), ("ing", ""), ("ed", "")):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + repl
    return word


# Words of a bare answer statement ("So the correct answer is X"): what is left after them and
# the answer's own words is the explanation.
_STATEMENT_WORDS = frozenset(
    _stem(_w)
    for _w in "so thus therefore hence the a an correct right best answer option choice is would must be it".split()
)


def _stems(text: str) -> list[str]:
    return [_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower())]


def _names(haystack: str, phrase: str) -> bool:
    """Whether the phrase's words occur, in order and as whole words, in the haystack (both
    as space-joined stems)."""
    return bool(phrase) and re.search(rf"(?<!\S){re.escape(phrase)}(?!\S)", haystack) is not None


def content_failures(
    text: str, question: str, choices: list[str], answer_index: int, *, explain: bool = True
) -> list[str]:
    """The content checks alone: a wrong choice named instead of the gold, a repeated
    question, a bare answer statement (only when ``explain``)."""
    failures = []
    said = " ".join(_stems(text))
    asked = " ".join(_stems(question))
    if len(choices) > 1 and 0 <= answer_index < len(choices):
        phrases = [" ".join(_stems(c)) for c in choices]
        if not _names(said, phrases[answer_index]):
            # a choice the question itself contains is not the rationale's pick
            wrong = [
                c
                for i, (c, ph) in enumerate(zip(choices, phrases))
                if i != answer_index and _names(said, ph) and not _names(asked, ph)
            ]
            if wrong:
                failures.append(f"names a wrong choice ({wrong[0]!r}), not the answer")
    words = said.split()
    if len(words) >= STUB_WORDS:
        from_question = set(asked.split())
        if sum(w in from_question for w in words) >= REPEAT_SHARE * len(words):
            failures.append("repeats the question")
    if explain and 0 <= answer_index < len(choices):
        gold = set(_stems(choices[answer_index]))
        rest = [w for w in words if w not in _STATEMENT_WORDS and w not in gold]
        if len(rest) < STUB_WORDS:
            failures.append("states the answer without explaining it")
    return failures


def check_rationale(
    text: str | None,
    answer_index: int,
    n_choices: int,
    *,
    min_chars: int = 20,
    max_chars: int = 2000,
    question: str | None = None,
    choices: list[str] | None = None,
    explain: bool = True,
) -> list[str]:
    """Reasons the rationale is unusable (empty list: it passes). The content checks run when
    the question and choices are given."""
    if text is None or not text.strip():
        return ["empty"]
    failures = []
    t = text.strip()
    if len(t) < min_chars and explain:  # a writer that only states the answer is short by design
        failures.append(f"shorter than {min_chars} characters")
    if len(t) > max_chars:
        failures.append(f"longer than {max_chars} characters")
    words = re.findall(r"\w+", t.lower())
    if len(words) >= 12 and len(set(words)) / len(words) < 0.3:
        failures.append("degenerate: mostly repeated words")
    letter = LETTERS[answer_index] if answer_index < len(LETTERS) else None
    if letter and n_choices > 1:
        leak = rf"(\b(?:answer|option|choice)\s*(?:is|:)?\s*\(?{letter}\)?(?![\w'])|\({letter}\))"
        if re.search(leak, t, flags=re.IGNORECASE if letter not in "AI" else 0):
            failures.append(f"leaks the answer letter {letter}")
    if question is not None and choices is not None:
        failures += content_failures(t, question, list(choices), answer_index, explain=explain)
    return failures
