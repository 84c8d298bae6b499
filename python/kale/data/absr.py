"""AbsR (MeanLearn, NeurIPS 2024): the test set in its perplexity-scoring format and dev pairs.

`test_ppl.json` stores, per question, one full "testing input" per option letter; the
question, options and any preceding text are parsed back out of the "label: A" input. Four
questions carry a worked example (wrong answer, refutation, true answer) before the question;
that text is kept as `passage` so the prompt the model sees still contains it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kale.data.schema import Question, letter_index, make_question
from kale.exceptions import InputError, KaleFileNotFoundError

INSTRUCTION = (
    "The following is a multiple choice question about everyday life. "
    "You should choose a most plausible answer from the options."
)
_OPTION = re.compile(r"^([A-Z])[).]\s*(.*)$")  # both "A)" and "A." occur
_INLINE_OPTION = re.compile(r"(?:^|\s)([A-Z])\)\s")


def _parse_testing_input(text: str, where: str, row: str) -> tuple[str, list[str], str | None]:
    body = text.strip()
    if body.startswith(INSTRUCTION):
        body = body[len(INSTRUCTION) :].strip()
    cut = body.rfind("Question:")
    if cut < 0 or "\nOptions:\n" not in body[cut:]:
        raise InputError(f"{where}: question {row}: testing input has no 'Question: ... Options:' block")
    passage = body[:cut].strip() or None
    stem, _, rest = body[cut + len("Question:") :].partition("\nOptions:\n")
    options: list[str] = []
    for line in rest.split("\n"):
        m = _OPTION.match(line.strip())
        if m and m.group(1) == chr(ord("A") + len(options)):
            options.append(m.group(2).strip())
        elif line.startswith("Answer:"):
            break
    if len(options) < 2:
        raise InputError(f"{where}: question {row}: found {len(options)} options in the testing input")
    return stem.strip(), options, passage


def load_absr_test(path: str | Path) -> list[Question]:
    path = Path(path)
    if not path.is_file():
        raise KaleFileNotFoundError(f"{path}: no such file (AbsR's test_ppl.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: line {err.lineno}: invalid JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected an object keyed by question number")
    out = []
    for key in sorted(data, key=lambda k: int(k) if str(k).isdigit() else str(k)):
        item = data[key]
        first = item.get("label: A") if isinstance(item, dict) else None
        if not isinstance(first, dict) or "testing input" not in first or "gold" not in item:
            raise InputError(f"{path}: question {key}: needs 'label: A' with a 'testing input', and 'gold'")
        stem, options, passage = _parse_testing_input(first["testing input"], str(path), key)
        out.append(
            make_question(
                str(path),
                key,
                id=f"absr-{key}",
                question=stem,
                choices=options,
                answer=letter_index(item["gold"], None, str(path), key),
                passage=passage,
                source="absr",
            )
        )
    return out


def load_absr_dev(path: str | Path) -> list[Question]:
    """dev.jsonl: each question twice (without and with a 'Fact:' line); keep it once."""
    path = Path(path)
    if not path.is_file():
        raise KaleFileNotFoundError(f"{path}: no such file (AbsR's dev.jsonl)")
    out: list[Question] = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            text, target = rec["input"], rec["output"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise InputError(f"{path}: line {lineno}: expected JSON with 'input' and 'output' ({err})") from None
        text = re.sub(r"^Fact:.*\n", "", text)  # the hint line makes the paired variant
        stem, _, opts = text.partition("\nOptions:")
        stem = stem.removeprefix("Question:").strip()
        marks = []
        for m in _INLINE_OPTION.finditer(opts):  # a letter inside an option ("vitamin C) ") is skipped
            if m.group(1) == chr(ord("A") + len(marks)):
                marks.append(m)
        options = [
            opts[m.end() : (marks[i + 1].start() if i + 1 < len(marks) else len(opts))].strip()
            for i, m in enumerate(marks)
        ]
        answer = re.search(r"Answer:\s*([A-Z])\)", target)
        if not answer or len(options) < 2:
            raise InputError(f"{path}: line {lineno}: cannot parse options or 'Answer: X)' from the row")
        if stem in seen:
            continue
        seen.add(stem)
        out.append(
            make_question(
                str(path),
                lineno,
                id=f"absr-dev-{len(out)}",
                question=stem,
                choices=options,
                answer=letter_index(answer.group(1), None, str(path), lineno),
                source="absr",
            )
        )
    return out
