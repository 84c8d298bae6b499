"""Answer extraction and exact match for generative tasks (BBH)."""

from __future__ import annotations

import re

_ANSWER_IS = re.compile(r"the answer is[:\s]*(.+)", re.IGNORECASE)
_LETTER_IN_PARENS = re.compile(r"^\(([A-Z])\)$")


def extract_answer(text: str) -> str:
    """The text after the last "the answer is", up to the end of its line, without a final
    period; without that phrase, the first non-empty line (direct few-shot answers)."""
    matches = [m.group(1) for line in text.splitlines() for m in _ANSWER_IS.finditer(line)]
    if matches:
        answer = matches[-1]
    else:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        answer = lines[0] if lines else ""
    return answer.strip().rstrip(".").strip()


def normalise(text: str) -> str:
    return " ".join(text.strip().rstrip(".").split()).casefold()


def exact_match(prediction: str, target: str) -> bool:
    """Case- and whitespace-insensitive; "(B)" also matches a bare "B" and the reverse,
    since BBH targets use the parenthesised letter but models often drop the brackets."""
    p, t = normalise(prediction), normalise(target)
    if p == t:
        return True
    unwrap = lambda s: m.group(1).casefold() if (m := _LETTER_IN_PARENS.match(s.upper())) else s  # noqa: E731
    return unwrap(p) == unwrap(t)
