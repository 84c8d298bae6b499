"""Prompts for the three scoring modes.

- "choice": "Question: ...\\nAnswer:" and each answer text as the continuation (the OLMES
  and lm-eval ARC/CSQA format).
- "lettered": the options listed "A. ..." after the question, then "Answer:"; the
  continuation is the option letter (lm-eval's MMLU format, MeanLearn's AbsR scoring).
- "generate": "Q: ...\\nA:" and the model writes the answer (BBH).

With `chat=True` the same text goes through the tokenizer's chat template: each few-shot
example becomes a user/assistant turn and the continuation follows the generation prompt
without the leading space.

A `rationale` goes on its own "Explanation: ..." line just before the answer cue. Training
(kale.train.data), the teachable-signal diagnostic and the judge all read a rationale there,
so "the model with the rationale" means the same prompt everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from kale.data.schema import LETTERS, Question
from kale.exceptions import KaleValueError

MODES = ("choice", "lettered", "generate")
MODE_ALIASES = {
    "acc": "choice",
    "rc": "choice",
    "acc_norm": "choice",
    "mc": "lettered",
    "letter": "lettered",
    "gen": "generate",
    "exact_match": "generate",
}


def canonical_mode(mode: str) -> str:
    mode = MODE_ALIASES.get(mode, mode)
    if mode not in MODES:
        accepted = ", ".join(list(MODES) + sorted(MODE_ALIASES))
        raise KaleValueError(f"unknown scoring mode {mode!r}; accepted: {accepted}")
    return mode


@dataclass(frozen=True)
class Prompt:
    context: str  # everything the model conditions on
    continuations: list[str]  # scored texts, one per choice ("choice"/"lettered"); empty for "generate"


def benchmark_format(q: Question, mode: str = "auto") -> tuple[str, str | None]:
    """(scoring mode, instruction) that `kale eval` uses for the question's benchmark (its
    `source`): the benchmark's own mode and header, or "choice" and none for other sources;
    an explicit ``mode`` overrides the benchmark's."""
    from kale.data.registry import BENCHMARKS

    spec = BENCHMARKS.get(q.source)
    if mode == "auto":
        return (spec.mode if spec else "choice"), (spec.instruction if spec else None)
    return canonical_mode(mode), (spec.instruction if spec else None)


def question_block(q: Question, mode: str, rationale: str | None = None) -> str:
    passage = f"{q.passage}\n\n" if q.passage else ""
    why = f"Explanation: {rationale.strip()}\n" if rationale and rationale.strip() else ""
    if mode == "generate":
        return f"{passage}Q: {q.question}\n{why}A:"
    if mode == "lettered":
        options = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(q.choices))
        return f"{passage}Question: {q.question}\n{options}\n{why}Answer:"
    return f"{passage}Question: {q.question}\n{why}Answer:"


def answer_texts(q: Question, mode: str) -> list[str]:
    """What is scored for each choice, without the separating space."""
    if mode == "lettered":
        return [LETTERS[i] for i in range(len(q.choices))]
    return list(q.choices)


def build_prompt(
    q: Question,
    mode: str,
    shots: list[Question] = (),
    instruction: str | None = None,
    tokenizer=None,
    chat: bool = False,
    rationale: str | None = None,
) -> Prompt:
    """The context and continuations for one question; `shots` are solved examples shown first,
    `rationale` (training's with-rationale branch, the judge) is read just before the answer."""
    mode = canonical_mode(mode)
    if instruction and "{subject}" in instruction:
        instruction = instruction.format(subject=(q.subject or "general knowledge").replace("_", " "))
    if not chat:
        parts = [instruction] if instruction else []
        parts += [f"{question_block(s, mode)} {answer_texts(s, mode)[s.answer]}" for s in shots]
        parts.append(question_block(q, mode, rationale))
        conts = [] if mode == "generate" else [f" {a}" for a in answer_texts(q, mode)]
        return Prompt("\n\n".join(parts), conts)
    if tokenizer is None or getattr(tokenizer, "chat_template", None) is None:
        raise KaleValueError("chat=True needs a tokenizer with a chat template; this one has none")
    messages = []
    for i, s in enumerate(shots):
        text = question_block(s, mode)
        if i == 0 and instruction:
            text = f"{instruction}\n\n{text}"
        messages += [
            {"role": "user", "content": text},
            {"role": "assistant", "content": answer_texts(s, mode)[s.answer]},
        ]
    text = question_block(q, mode, rationale)
    if not shots and instruction:
        text = f"{instruction}\n\n{text}"
    messages.append({"role": "user", "content": text})
    context = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    conts = [] if mode == "generate" else answer_texts(q, mode)
    return Prompt(context, conts)
