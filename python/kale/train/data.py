"""Rationales Parquet -> tokenised with/without-rationale pairs for knowledge-aware training.

Each row (question, choices, answer, rationale) becomes two token sequences that end in the
*same* answer tokens, so the answer's positions pair one to one:

    p: prompt                 + answer      (no rationale; the branch that is trained)
    q: prompt with rationale  + answer      (the target)

``prompt_format=eval`` (the default) writes both prompts exactly as ``kale eval`` does for the
row's benchmark (kale.eval.prompts): p's context *is* the evaluation prompt, the answer is
the continuation evaluation scores (the answer text after "Answer:", or the option letter
for lettered benchmarks), and q reads the rationale on an "Explanation:" line just before
the answer cue. Training then moves exactly the distribution that evaluation reads.
``prompt_format=chat`` is the older layout: an instruction and a lettered choices list in a
chat user turn, the rationale and answer in the assistant turn, and an end-of-turn token.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kale.data.schema import Question
from kale.train.config import TrainConfig, needs_rationale
from kale.train.errors import KaleTrainError

if TYPE_CHECKING:
    from kale.eval.runner import ShotPicker

REQUIRED_COLUMNS = ("question", "answer")


@dataclass
class Example:
    row: int
    p_ids: list[int]
    q_ids: list[int]
    p_answer_start: int  # index of the first answer token in p_ids
    q_answer_start: int
    q_target_start: int  # first token rationale-sft learns (rationale onwards)
    answer_len: int
    # The answer tokens of every choice in this format (the gold's are the trained answer), so
    # the diagnostic scores the choices after exactly the contexts training uses. A row
    # without choices has the gold alone.
    choice_ids: list[list[int]] = field(default_factory=list)
    gold_choice: int = 0
    id: str | None = None  # the row's id column, when it has one
    question: Question | None = None  # the row as a question (its choices, if any, and gold)
    rationale: str = ""


@dataclass
class PairData:
    examples: list[Example]
    skipped: Counter = field(default_factory=Counter)
    skipped_rows: dict[str, list[int]] = field(default_factory=dict)

    def skip_report(self) -> str:
        parts = [f"{n} {why} (rows {self.skipped_rows[why][:5]}...)" for why, n in self.skipped.most_common()]
        return "; ".join(parts) if parts else "none"


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def format_user(question: str, choices, instruction: str) -> str:
    text = f"{instruction}\n\nQuestion: {question}" if instruction else f"Question: {question}"
    if choices:
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        text += "\nChoices:\n" + "\n".join(f"{letters[i]}. {c}" for i, c in enumerate(choices))
    return text


def as_question(
    row: int, question, choices, answer, *, id=None, passage=None, subject=None, source=None
) -> Question | str:
    """The row as a :class:`Question`, or a short reason string. A row without choices becomes
    a one-choice question whose only choice is its answer (the gold log-prob is still defined,
    accuracy among choices is not)."""
    choices = [c for c in (choices or []) if isinstance(c, str)]
    if isinstance(answer, int) and not isinstance(answer, bool) and choices:
        if not 0 <= answer < len(choices):
            return "answer index out of range of choices"
        index = answer
    else:
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            answer = str(answer)  # a numeric answer column without choices
        text = _text(answer)
        if not text:
            return "empty answer"
        stripped = [c.strip() for c in choices]
        if choices and text not in stripped:
            return "answer is not one of the choices"
        if not choices:
            choices = [text]
        index = stripped.index(text) if text in stripped else 0
    if not _text(question):
        return "empty question"
    if not _text(choices[index]):
        return "empty answer"
    return Question(
        id=str(id if id is not None else row),
        question=_text(question),
        choices=choices,
        answer=index,
        passage=passage or None,
        subject=subject or None,
        source=source or "",
    )


def uses_chat_template(cfg: TrainConfig, tokenizer) -> bool:
    """Whether prompts go through the tokenizer's chat template: as asked, else as the format
    does by default (eval: no, as kale eval; chat: yes); never without a template."""
    wanted = cfg.use_chat_template if cfg.use_chat_template is not None else cfg.prompt_format == "chat"
    return bool(wanted and getattr(tokenizer, "chat_template", None))


def shot_examples(q: Question, cfg: TrainConfig, pickers: dict[str, ShotPicker]) -> list[Question]:
    """The solved examples `kale eval --shots K` shows before ``q`` when it evaluates another
    split of the row's benchmark: the first K of a seeded shuffle of the benchmark's few-shot
    split, skipping ``q`` itself (kale.eval.runner.ShotPicker). ``pickers`` caches one per benchmark."""
    if not cfg.shots:
        return []
    from kale.data.registry import BENCHMARKS, load_benchmark
    from kale.eval.runner import ShotPicker

    spec = BENCHMARKS.get(q.source or "")
    if spec is None or spec.fewshot_split is None or spec.needs_path:
        raise KaleTrainError(
            f"shots={cfg.shots}: row {q.id!r} is from {q.source!r}, which is not a built-in benchmark "
            f"with a few-shot split; few-shot training needs the benchmark kale eval draws shots from "
            f"(or shots=0)"
        )
    if spec.name not in pickers:
        pickers[spec.name] = ShotPicker(load_benchmark(spec.name, split=spec.fewshot_split), cfg.shots_seed)
    return pickers[spec.name].pick(q, cfg.shots)


def branch_prompts(q: Question, rationale: str, cfg: TrainConfig, tokenizer, shots: list[Question] = ()):
    """The evaluation prompt of ``q`` without and with the rationale (kale.eval.prompts.Prompt
    each), after the solved examples ``shots``, and the gold continuation both branches are
    trained on. The rationale is read only for ``q``, never for the examples."""
    from kale.eval.prompts import benchmark_format, build_prompt

    mode, instruction = benchmark_format(q, cfg.eval_mode)
    chat = uses_chat_template(cfg, tokenizer)
    p = build_prompt(q, mode, shots, instruction, tokenizer, chat)
    r = build_prompt(q, mode, shots, instruction, tokenizer, chat, rationale=rationale or None)
    gold = p.continuations[q.answer] if p.continuations else (q.gold if chat else f" {q.gold}")
    return p, r, gold


class PairBuilder:
    """Turns one row into an :class:`Example` or a reason to skip it."""

    def __init__(self, tokenizer, config: TrainConfig):
        self.tok = tokenizer
        self.cfg = config
        self.chat = uses_chat_template(config, tokenizer)
        self.eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
        self.shot_pickers: dict[str, ShotPicker] = {}

    def _ids(self, text: str, special: bool = False) -> list[int]:
        return list(self.tok(text, add_special_tokens=special)["input_ids"])

    def _prompt(self, user: str) -> list[int]:
        if self.chat:
            text = self.tok.apply_chat_template(
                [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True
            )
            return self._ids(text)  # the template carries its own special tokens
        return self._ids(user + "\n", special=True)

    def build(self, row: int, question, choices, answer, rationale, **extra) -> Example | str:
        """An Example, or a short reason string when the row cannot be used. ``extra`` holds
        the row's id, passage, subject and source when the file has them."""
        q = as_question(row, question, choices, answer, **extra)
        if isinstance(q, str):
            return q
        rationale = _text(rationale)
        if needs_rationale(self.cfg) and not rationale:
            return "empty rationale"
        example = (self._eval_format if self.cfg.prompt_format == "eval" else self._chat_format)(row, q, rationale)
        if isinstance(example, Example):
            example.id, example.question, example.rationale = q.id, q, rationale
        return example

    def _too_long(self, p_ids, q_ids) -> str | None:
        if max(len(p_ids), len(q_ids) if needs_rationale(self.cfg) else 0) > self.cfg.max_length:
            return f"longer than max_length={self.cfg.max_length}"
        return None

    def _eval_format(self, row: int, q: Question, rationale: str) -> Example | str:
        from kale.eval.scoring import encode_pair

        shots = shot_examples(q, self.cfg, self.shot_pickers)
        p, r, gold = branch_prompts(q, rationale, self.cfg, self.tok, shots)
        # encode_pair tokenises as kale eval does: p's answer tokens are the ones it scores.
        ctx_p, ans = encode_pair(self.tok, p.context, gold)
        ctx_q, ans_q = encode_pair(self.tok, r.context, gold)
        if ans != ans_q:
            return "answer tokenises differently with and without the rationale"
        p_ids, q_ids = ctx_p + ans, ctx_q + ans
        too_long = self._too_long(p_ids, q_ids)
        if too_long:
            return too_long
        shared = 0  # the rationale starts where the two contexts' tokens part
        while shared < min(len(ctx_p), len(ctx_q)) and ctx_p[shared] == ctx_q[shared]:
            shared += 1
        if p.continuations:
            choice_ids, gold_choice = [encode_pair(self.tok, p.context, c)[1] for c in p.continuations], q.answer
        else:  # generated answers: only the gold is scored
            choice_ids, gold_choice = [ans], 0
        return Example(
            row=row,
            p_ids=p_ids,
            q_ids=q_ids,
            p_answer_start=len(ctx_p),
            q_answer_start=len(ctx_q),
            q_target_start=shared,
            answer_len=len(ans),
            choice_ids=choice_ids,
            gold_choice=gold_choice,
        )

    def _chat_format(self, row: int, q: Question, rationale: str) -> Example | str:
        choices = q.choices if len(q.choices) > 1 or q.choices[0] != q.gold else []
        user = format_user(q.question, choices, self.cfg.instruction)
        ans = self._ids(" " + q.gold)
        if not ans:
            return "answer tokenises to nothing"
        ans = ans + self.eos
        cue = self._ids(self.cfg.answer_cue) if self.cfg.answer_cue else []
        prompt_p = self._prompt(user)
        if self.cfg.rationale_position == "user":
            prompt_q, rat = self._prompt(f"{user}\nRationale: {rationale}"), []
        else:
            prompt_q, rat = prompt_p, self._ids(rationale + "\n") if rationale else []
        p_ids = prompt_p + cue + ans
        q_ids = prompt_q + rat + cue + ans
        too_long = self._too_long(p_ids, q_ids)
        if too_long:
            return too_long
        choice_ids = [self._ids(" " + c) + self.eos for c in choices] if choices else [ans]
        return Example(
            row=row,
            p_ids=p_ids,
            q_ids=q_ids,
            p_answer_start=len(p_ids) - len(ans),
            q_answer_start=len(q_ids) - len(ans),
            q_target_start=len(prompt_q),
            answer_len=len(ans),
            choice_ids=choice_ids,
            gold_choice=q.answer if choices else 0,
        )


def read_rationales(path: str | Path, *, quiet: bool = False):
    """The rationale rows to train on, as a polars frame: a Parquet file, or the parts of a
    `kale synth` folder read together; rows that failed a synthesis check are left out."""
    import polars as pl

    path = Path(path)
    if not path.exists():
        raise KaleTrainError(f"{path}: rationales file not found")
    try:
        frame = (
            pl.read_parquet(sorted(path.glob("part-*.parquet")) or path / "*.parquet")
            if path.is_dir()
            else pl.read_parquet(path)
        )
    except Exception as exc:  # polars raises several types for corrupt files
        raise KaleTrainError(f"{path}: not a readable Parquet file or folder of them ({exc})") from exc
    if "ok" in frame.columns:
        # Rows whose rationale failed synthesis checks keep their reasons there; not trained on.
        failed = frame.filter(~frame["ok"]).height
        frame = frame.filter(frame["ok"])
        if failed and not quiet:
            print(f"{path}: {failed} row(s) whose rationale failed its checks are left out", file=sys.stderr)
    return frame


def load_pairs(path: str | Path, tokenizer, config: TrainConfig, frame=None) -> PairData:
    """Training pairs from the rationales at ``path`` (or from ``frame``, those rows already
    read by :func:`read_rationales`)."""
    path = Path(path)
    frame = read_rationales(path) if frame is None else frame
    needed = REQUIRED_COLUMNS + (("rationale",) if needs_rationale(config) else ())
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise KaleTrainError(f"{path}: missing column(s) {missing}; has {frame.columns}")
    builder = PairBuilder(tokenizer, config)
    data = PairData(examples=[])

    def column(name):
        return frame[name].to_list() if name in frame.columns else [None] * len(frame)

    # `answer` is an index into `choices` (kale synth) or the answer's text (hand-made files).
    extras = {k: column(k) for k in ("id", "passage", "subject", "source")}
    for i, (q, c, a, r) in enumerate(zip(column("question"), column("choices"), column("answer"), column("rationale"))):
        result = builder.build(i, q, c, a, r, **{k: v[i] for k, v in extras.items()})
        if isinstance(result, str):
            if config.on_bad_row == "error":
                raise KaleTrainError(f"{path}: row {i}: {result}")
            data.skipped[result] += 1
            data.skipped_rows.setdefault(result, []).append(i)
        else:
            data.examples.append(result)
    if not data.examples:
        raise KaleTrainError(f"{path}: no usable rows (skipped: {data.skip_report()})")
    return data


def collate(examples: list[Example], pad_id: int, mode: str) -> dict:
    """Right-padded tensors plus boolean masks over the positions whose hidden state predicts
    a target token (position t predicts token t+1), in the same row order in both branches."""
    import torch

    def pad(seqs):
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
        attn = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            attn[i, : len(s)] = 1
        return ids, attn

    def predict_mask(width, spans):
        mask = torch.zeros((len(spans), width), dtype=torch.bool)
        for i, (start, end) in enumerate(spans):
            mask[i, start - 1 : end - 1] = True
        return mask

    p_ids, p_attn = pad([e.p_ids for e in examples])
    q_ids, q_attn = pad([e.q_ids for e in examples])
    batch = {"p_ids": p_ids, "p_attn": p_attn, "q_ids": q_ids, "q_attn": q_attn}
    if mode == "rationale-sft":
        spans = [(e.q_target_start, len(e.q_ids)) for e in examples]
        batch["q_target"] = predict_mask(q_ids.shape[1], spans)
        batch["q_labels"] = torch.cat([torch.tensor(e.q_ids[s:t]) for e, (s, t) in zip(examples, spans)])
    else:
        batch["p_answer"] = predict_mask(p_ids.shape[1], [(e.p_answer_start, len(e.p_ids)) for e in examples])
        batch["q_answer"] = predict_mask(q_ids.shape[1], [(e.q_answer_start, len(e.q_ids)) for e in examples])
        batch["p_labels"] = torch.cat([torch.tensor(e.p_ids[e.p_answer_start :]) for e in examples])
    return batch


def n_targets(batch: dict) -> int:
    return int(batch["q_target"].sum() if "q_target" in batch else batch["p_answer"].sum())
