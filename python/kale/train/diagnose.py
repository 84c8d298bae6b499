"""The teachable signal: what KA can teach from a set of rationales, measured before training.

KA moves the student's answer distribution (p, no rationale) towards the one the model has
after reading the rationale (q). That can only help where q is better than p, so before any
training this measures, row by row and in the exact prompts training uses (kale.train.data):

- each branch's accuracy among the choices and the gold answer's probability among them
  (the choices' summed log-probabilities, scored as kale eval scores them, softmaxed);
- the gold answer's summed log-probability and the probability of its first token;
- the mean divergence (the configured one, KL(p||q) by default) over the answer tokens;
- ``teacher_gain``: q's gold probability among the choices minus p's (for a row without
  choices, the difference of the gold's per-token geometric-mean probability).

``min_teacher_gain`` keeps only rows whose gain exceeds it; ``verdict`` says in one line
whether the set has anything to teach.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from kale.train.config import TrainConfig
from kale.train.data import Example

COLUMNS = (
    "id",
    "row",
    "n_choices",
    "p_correct",
    "q_correct",
    "p_gold_prob",
    "q_gold_prob",
    "p_gold_logprob",
    "q_gold_logprob",
    "p_first_token_prob",
    "q_first_token_prob",
    "divergence",
    "teacher_gain",
)


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    e = [math.exp(v - top) for v in values]
    return [x / sum(e) for x in e]


def divergence_rows(
    logp: torch.Tensor, logq: torch.Tensor, divergence: str, beta: float, temperature: float
) -> torch.Tensor:
    """The per-token divergence between two [tokens x vocab] log-probability rows, as the
    training loss defines it (kale.train.losses): log_softmax(logp / T) equals the softmax of
    the logits at temperature T, since a log-softmax ignores each row's constant shift."""
    from kale.train.divergences import resolve_divergence

    lp = torch.log_softmax(logp.double() / temperature, -1)
    lq = torch.log_softmax(logq.double() / temperature, -1)

    def kl(a, b):
        return (a.exp() * (a - b)).sum(-1)

    divergence = resolve_divergence(divergence, beta)
    if divergence == "reverse_kl":
        return kl(lp, lq)
    if divergence == "forward_kl":
        return kl(lq, lp)
    lm = torch.logsumexp(torch.stack([lp + math.log1p(-beta), lq + math.log(beta)]), 0)
    return beta * kl(lq, lm) + (1.0 - beta) * kl(lp, lm)


def diagnose(
    model, tokenizer, examples: list[Example], cfg: TrainConfig, *, batch_size: int = 8, progress: bool = True
) -> list[dict]:
    """One record (the keys of COLUMNS) per example, in order. Each branch's context runs
    once (kale.eval.scoring.score_token_groups): its choices share it, and the gold's
    teacher-forced distributions give the divergence."""
    from tqdm.auto import tqdm

    from kale.eval.scoring import score_token_groups

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    was_training = model.training
    model.eval()
    records: list[dict] = []
    try:
        with tqdm(total=len(examples), desc="teachable signal", unit="row", disable=not progress) as bar:
            for start in range(0, len(examples), 4 * batch_size):
                chunk = examples[start : start + 4 * batch_size]
                keep = [e.gold_choice for e in chunk]
                p_scores, p_rows = score_token_groups(
                    model, pad_id, [(e.p_ids[: e.p_answer_start], e.choice_ids) for e in chunk], batch_size, keep
                )
                q_scores, q_rows = score_token_groups(
                    model, pad_id, [(e.q_ids[: e.q_answer_start], e.choice_ids) for e in chunk], batch_size, keep
                )
                for e, ps, qs, pr, qr in zip(chunk, p_scores, q_scores, p_rows, q_rows):
                    records.append(_record(e, [c.logprob for c in ps], [c.logprob for c in qs], pr, qr, cfg))
                bar.update(len(chunk))
    finally:
        model.train(was_training)
    return records


def _record(e: Example, ps: list[float], qs: list[float], p_rows, q_rows, cfg: TrainConfig) -> dict:
    gold, n = e.gold_choice, len(e.choice_ids[e.gold_choice])
    target = torch.tensor(e.choice_ids[gold])
    first = target[:1, None]
    rec = {
        "id": e.id,
        "row": e.row,
        "n_choices": len(ps) if len(ps) > 1 else 0,
        "p_correct": None,
        "q_correct": None,
        "p_gold_prob": None,
        "q_gold_prob": None,
        "p_gold_logprob": ps[gold],
        "q_gold_logprob": qs[gold],
        "p_first_token_prob": float(p_rows[:1].gather(1, first).exp()),
        "q_first_token_prob": float(q_rows[:1].gather(1, first).exp()),
        "divergence": float(divergence_rows(p_rows, q_rows, cfg.divergence, cfg.beta, cfg.temperature).mean()),
    }
    if len(ps) > 1:
        from kale.eval.scoring import pick

        p_prob, q_prob = _softmax(ps)[gold], _softmax(qs)[gold]
        rec.update(
            p_correct=pick(ps) == gold,
            q_correct=pick(qs) == gold,
            p_gold_prob=p_prob,
            q_gold_prob=q_prob,
            teacher_gain=q_prob - p_prob,
        )
    else:
        rec["teacher_gain"] = math.exp(qs[gold] / n) - math.exp(ps[gold] / n)
    return {k: rec[k] for k in COLUMNS}


@dataclass
class Summary:
    rows: int
    with_choices: int
    p_accuracy: float | None
    q_accuracy: float | None
    q_only: int  # q picks the gold and p does not
    p_only: int  # the reverse
    p_gold_prob: float | None
    q_gold_prob: float | None
    p_gold_logprob: float
    q_gold_logprob: float
    p_first_token_prob: float
    q_first_token_prob: float
    divergence: float
    gaining: int  # rows with teacher_gain > 0
    seconds: float = 0.0

    def verdict(self) -> str:
        if self.with_choices:
            if self.q_accuracy <= self.p_accuracy or self.q_gold_prob <= self.p_gold_prob:
                return (
                    "q is no better than p: KA has nothing to teach here (the rationales do not "
                    "lead the model to the gold answer more often than no rationale)"
                )
            return (
                f"q beats p by {100 * (self.q_accuracy - self.p_accuracy):+.1f} points among the "
                f"choices: there is something for KA to teach on {self.gaining} of {self.rows} rows"
            )
        if self.q_gold_logprob <= self.p_gold_logprob:
            return "q gives the gold answer no more probability than p: KA has nothing to teach here"
        return (
            f"q gives the gold answer more probability than p on {self.gaining} of {self.rows} rows "
            "(no choices: accuracy among choices is not defined)"
        )

    def lines(self) -> list[str]:
        def pct(x):
            return "n/a" if x is None else f"{100 * x:.1f} %"

        out = [
            f"teachable signal over {self.rows} rows ({self.seconds:.0f} s):",
            "                                   p (no rationale)   q (with rationale)",
        ]
        if self.with_choices:
            out += [
                f"  accuracy among the choices        {pct(self.p_accuracy):>16}   {pct(self.q_accuracy):>18}",
                f"  gold probability among choices    {pct(self.p_gold_prob):>16}   {pct(self.q_gold_prob):>18}",
            ]
        else:
            out.append("  accuracy among the choices: not defined (the rows have no choices)")
        out += [
            f"  gold log-prob (sum, mean/row)     {self.p_gold_logprob:>16.2f}   {self.q_gold_logprob:>18.2f}",
            f"  gold first-token probability      {pct(self.p_first_token_prob):>16}   {pct(self.q_first_token_prob):>18}",
        ]
        if self.with_choices:
            out.append(
                f"  rows where only q is right: {self.q_only}; only p: {self.p_only} "
                f"(of {self.with_choices} with choices)"
            )
        out += [f"  mean divergence over answer tokens: {self.divergence:.4f}", f"  verdict: {self.verdict()}"]
        return out


def summarise(records: list[dict], seconds: float = 0.0) -> Summary:
    def mean(key, rows):
        vals = [r[key] for r in rows if r[key] is not None]
        return sum(vals) / len(vals) if vals else None

    chosen = [r for r in records if r["n_choices"] > 1]
    return Summary(
        rows=len(records),
        with_choices=len(chosen),
        p_accuracy=mean("p_correct", chosen),
        q_accuracy=mean("q_correct", chosen),
        q_only=sum(bool(r["q_correct"] and not r["p_correct"]) for r in chosen),
        p_only=sum(bool(r["p_correct"] and not r["q_correct"]) for r in chosen),
        p_gold_prob=mean("p_gold_prob", chosen),
        q_gold_prob=mean("q_gold_prob", chosen),
        p_gold_logprob=mean("p_gold_logprob", records) or 0.0,
        q_gold_logprob=mean("q_gold_logprob", records) or 0.0,
        p_first_token_prob=mean("p_first_token_prob", records) or 0.0,
        q_first_token_prob=mean("q_first_token_prob", records) or 0.0,
        divergence=mean("divergence", records) or 0.0,
        gaining=sum(r["teacher_gain"] > 0 for r in records),
        seconds=seconds,
    )


def run_diagnostic(
    model, tokenizer, examples: list[Example], cfg: TrainConfig, *, progress: bool = True
) -> tuple[list[dict], Summary]:
    started = time.perf_counter()
    records = diagnose(model, tokenizer, examples, cfg, progress=progress)
    return records, summarise(records, time.perf_counter() - started)


def keep_teaching(examples: list[Example], records: list[dict], min_gain: float) -> list[Example]:
    """The examples whose teacher gain exceeds ``min_gain`` (records in the examples' order)."""
    return [e for e, r in zip(examples, records) if r["teacher_gain"] > min_gain]


def write_records(records: list[dict], path) -> None:
    """The records as Parquet, written atomically (a crash never leaves half a file)."""
    import os
    from pathlib import Path

    import polars as pl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    schema = {
        "id": pl.String,
        "row": pl.Int64,
        "n_choices": pl.Int64,
        "p_correct": pl.Boolean,
        "q_correct": pl.Boolean,
        **{c: pl.Float64 for c in COLUMNS[5:]},
    }
    pl.DataFrame(records, schema=schema).write_parquet(tmp)
    os.replace(tmp, path)
