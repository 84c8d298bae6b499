"""Rationales Parquet -> tokenised with/without-rationale pairs for knowledge-aware training.

Each row (question, choices, answer, rationale) becomes two token sequences that share the
prompt and end in the *same* answer tokens:

    p: prompt                    + cue + answer + eos     (no rationale; trained)
    q: prompt + rationale + "\\n" + cue + answer + eos     (target; rationale_position=assistant)

Pieces are tokenised separately and concatenated, so the answer's tokens are identical in
both branches and their positions can be paired one to one. With ``rationale_position=user``
the rationale is part of the user turn instead.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kale.train.config import TrainConfig
from kale.train.errors import KaleTrainError

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


@dataclass
class PairData:
    examples: list[Example]
    skipped: Counter = field(default_factory=Counter)
    skipped_rows: dict[str, list[int]] = field(default_factory=dict)

    def skip_report(self) -> str:
        parts = [f"{n} {why} (rows {self.skipped_rows[why][:5]}...)"
                 for why, n in self.skipped.most_common()]
        return "; ".join(parts) if parts else "none"


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def format_user(question: str, choices, instruction: str) -> str:
    text = f"{instruction}\n\nQuestion: {question}" if instruction else f"Question: {question}"
    if choices:
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        text += "\nChoices:\n" + "\n".join(f"{letters[i]}. {c}" for i, c in enumerate(choices))
    return text


class PairBuilder:
    """Turns one row into an :class:`Example` or a reason to skip it."""

    def __init__(self, tokenizer, config: TrainConfig):
        self.tok = tokenizer
        self.cfg = config
        self.chat = bool(config.use_chat_template and getattr(tokenizer, "chat_template", None))
        self.eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []

    def _ids(self, text: str, special: bool = False) -> list[int]:
        return list(self.tok(text, add_special_tokens=special)["input_ids"])

    def _prompt(self, user: str) -> list[int]:
        if self.chat:
            text = self.tok.apply_chat_template([{"role": "user", "content": user}],
                                                tokenize=False, add_generation_prompt=True)
            return self._ids(text)  # the template carries its own special tokens
        return self._ids(user + "\n", special=True)

    def build(self, row: int, question, choices, answer, rationale) -> Example | str:
        """An Example, or a short reason string when the row cannot be used."""
        needs_rationale = self.cfg.mode != "sft"
        if isinstance(answer, int) and not isinstance(answer, bool) and choices:
            if not 0 <= answer < len(choices):
                return "answer index out of range of choices"
            answer = choices[answer]
        elif isinstance(answer, (int, float)) and not isinstance(answer, bool):
            answer = str(answer)  # a numeric answer column without choices
        question, answer, rationale = _text(question), _text(answer), _text(rationale)
        if not question:
            return "empty question"
        if not answer:
            return "empty answer"
        if needs_rationale and not rationale:
            return "empty rationale"
        user = format_user(question, list(choices or []), self.cfg.instruction)
        ans = self._ids(" " + answer)
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
        if max(len(p_ids), len(q_ids) if needs_rationale else 0) > self.cfg.max_length:
            return f"longer than max_length={self.cfg.max_length}"
        return Example(row=row, p_ids=p_ids, q_ids=q_ids,
                       p_answer_start=len(p_ids) - len(ans),
                       q_answer_start=len(q_ids) - len(ans),
                       q_target_start=len(prompt_q), answer_len=len(ans))


def load_pairs(path: str | Path, tokenizer, config: TrainConfig) -> PairData:
    import polars as pl

    path = Path(path)
    if not path.exists():
        raise KaleTrainError(f"{path}: rationales file not found")
    try:
        # A folder is the output of `kale synth`: its Parquet parts, read together.
        frame = pl.read_parquet(sorted(path.glob("part-*.parquet")) or path / "*.parquet") if path.is_dir() else pl.read_parquet(path)
    except Exception as exc:  # polars raises several types for corrupt files
        raise KaleTrainError(f"{path}: not a readable Parquet file or folder of them ({exc})") from exc
    if "ok" in frame.columns:
        # Rows whose rationale failed synthesis checks keep their reasons there; not trained on.
        failed = frame.filter(~frame["ok"]).height
        frame = frame.filter(frame["ok"])
        if failed:
            print(f"{path}: {failed} row(s) whose rationale failed its checks are left out", file=sys.stderr)
    needed = REQUIRED_COLUMNS + (("rationale",) if config.mode != "sft" else ())
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise KaleTrainError(f"{path}: missing column(s) {missing}; has {frame.columns}")
    builder = PairBuilder(tokenizer, config)
    data = PairData(examples=[])
    choices = frame["choices"].to_list() if "choices" in frame.columns else [None] * len(frame)
    rationales = (frame["rationale"].to_list() if "rationale" in frame.columns
                  else [None] * len(frame))
    for i, (q, c, a, r) in enumerate(zip(frame["question"].to_list(), choices,
                                         frame["answer"].to_list(), rationales)):
        result = builder.build(i, q, c, a, r)
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
            ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
            attn[i, :len(s)] = 1
        return ids, attn

    def predict_mask(width, spans):
        mask = torch.zeros((len(spans), width), dtype=torch.bool)
        for i, (start, end) in enumerate(spans):
            mask[i, start - 1:end - 1] = True
        return mask

    p_ids, p_attn = pad([e.p_ids for e in examples])
    q_ids, q_attn = pad([e.q_ids for e in examples])
    batch = {"p_ids": p_ids, "p_attn": p_attn, "q_ids": q_ids, "q_attn": q_attn}
    if mode == "rationale-sft":
        spans = [(e.q_target_start, len(e.q_ids)) for e in examples]
        batch["q_target"] = predict_mask(q_ids.shape[1], spans)
        batch["q_labels"] = torch.cat([torch.tensor(e.q_ids[s:t]) for e, (s, t) in
                                       zip(examples, spans)])
    else:
        batch["p_answer"] = predict_mask(p_ids.shape[1], [(e.p_answer_start, len(e.p_ids))
                                                          for e in examples])
        batch["q_answer"] = predict_mask(q_ids.shape[1], [(e.q_answer_start, len(e.q_ids))
                                                          for e in examples])
        batch["p_labels"] = torch.cat([torch.tensor(e.p_ids[e.p_answer_start:])
                                       for e in examples])
    return batch


def n_targets(batch: dict) -> int:
    return int(batch["q_target"].sum() if "q_target" in batch else batch["p_answer"].sum())
