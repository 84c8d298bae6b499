"""Rationale checks: a failed row keeps its text and the reasons; nothing is dropped."""

from __future__ import annotations

import re

from kale.data.schema import LETTERS


def check_rationale(text: str | None, answer_index: int, n_choices: int, *, min_chars: int = 20, max_chars: int = 2000) -> list[str]:
    """Reasons the rationale is unusable (empty list: it passes)."""
    if text is None or not text.strip():
        return ["empty"]
    failures = []
    t = text.strip()
    if len(t) < min_chars:
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
    return failures
