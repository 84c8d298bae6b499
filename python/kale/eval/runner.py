"""Evaluate a model on benchmarks and write results.json (metrics + per-question records)."""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from kale.data.registry import BENCHMARKS, get_benchmark, load_benchmark, split_of
from kale.data.schema import Question
from kale.eval.generative import exact_match, extract_answer
from kale.eval.prompts import build_prompt, canonical_mode
from kale.eval.scoring import generate_texts, pick, score_choice_groups
from kale.eval.stats import metric
from kale.exceptions import KaleValueError

RESULTS_FILE = "results.json"


@dataclass(frozen=True)
class EvalConfig:
    mode: str = "auto"  # "auto": the benchmark's default (see kale.data.BENCHMARKS)
    shots: int = 0
    chat: bool = False
    batch_size: int = 8
    seed: int = 1234
    n_resamples: int = 1000
    max_new_tokens: int = 128
    add_bos: bool = False


class ShotPicker:
    """Few-shot examples for many questions: the pool is shuffled once (seeded), and each
    question gets the first k of that order that are not itself. The same examples for
    every question, so results do not depend on evaluation order."""

    def __init__(self, pool: list[Question], seed: int):
        self.order = list(pool)
        random.Random(seed).shuffle(self.order)

    def pick(self, question: Question, k: int) -> list[Question]:
        out: list[Question] = []
        for q in self.order:
            if len(out) >= k:
                break
            if q.id != question.id and q.question != question.question:
                out.append(q)
        return out


def choose_shots(pool: list[Question], question: Question, k: int, seed: int) -> list[Question]:
    """One question's examples (ShotPicker; build one picker to serve many questions)."""
    return ShotPicker(pool, seed).pick(question, k) if k > 0 else []


def predict_choice(logprobs: list[float], n_chars: list[int], n_tokens: list[int]) -> dict:
    """Predictions under the three readings of "most likely answer".

    pred: the largest summed log-probability (acc). pred_norm: the largest log-probability per
    character of the answer text (acc_norm, as lm-eval computes it; characters, unlike tokens,
    do not depend on the tokenizer). pred_per_token: per token, the other common normalisation.
    """
    chars = [max(1, n) for n in n_chars]
    return {
        "pred": pick(logprobs),
        "pred_norm": pick([v / n for v, n in zip(logprobs, chars)]),
        "pred_per_token": pick([v / max(1, n) for v, n in zip(logprobs, n_tokens)]),
        "logprobs": logprobs,
        "n_tokens": n_tokens,
        "n_chars": chars,
    }


def _score_choices(model, tokenizer, questions, prompts, mode, cfg) -> tuple[list[dict], dict]:
    grouped = score_choice_groups(
        model, tokenizer, [(p.context, p.continuations) for p in prompts], cfg.batch_size, cfg.add_bos
    )
    records, acc, acc_norm, acc_tok = [], [], [], []
    for q, scores in zip(questions, grouped):
        lp, toks = [s.logprob for s in scores], [s.n_tokens for s in scores]
        rec = {"id": q.id, "answer": q.answer, **predict_choice(lp, [len(c) for c in q.choices], toks)}
        if mode != "choice":  # letters have no meaningful length
            rec = {k: v for k, v in rec.items() if k not in ("pred_norm", "pred_per_token", "n_chars")}
        rec["correct"] = rec["pred"] == q.answer
        acc.append(rec["correct"])
        if mode == "choice":
            acc_norm.append(rec["pred_norm"] == q.answer)
            acc_tok.append(rec["pred_per_token"] == q.answer)
        records.append(rec)
    metrics = {"acc": metric(acc, cfg.n_resamples, cfg.seed)}
    if mode == "choice":
        metrics["acc_norm"] = metric(acc_norm, cfg.n_resamples, cfg.seed)
        metrics["acc_per_token"] = metric(acc_tok, cfg.n_resamples, cfg.seed)
    return records, metrics


def _generate(model, tokenizer, questions, prompts, cfg) -> tuple[list[dict], dict]:
    outputs = generate_texts(model, tokenizer, [p.context for p in prompts], cfg.max_new_tokens, cfg.batch_size)
    records, hits = [], []
    for q, text in zip(questions, outputs):
        answer = extract_answer(text)
        ok = exact_match(answer, q.gold)
        hits.append(ok)
        records.append({"id": q.id, "target": q.gold, "output": text, "extracted": answer, "correct": ok})
    return records, {"exact_match": metric(hits, cfg.n_resamples, cfg.seed)}


def evaluate_questions(
    model,
    tokenizer,
    questions: list[Question],
    mode: str,
    cfg: EvalConfig,
    fewshot_pool: list[Question] | None = None,
    instruction: str | None = None,
) -> dict:
    """Score one list of questions; returns {"mode", "n", "metrics", "primary", "questions", ...}."""
    requested, mode = mode, canonical_mode(mode)
    pool = fewshot_pool if fewshot_pool is not None else questions
    needed = cfg.shots + (1 if fewshot_pool is None else 0)  # drawing from the eval set skips the question itself
    if cfg.shots and len(pool) < needed:
        raise KaleValueError(f"{cfg.shots}-shot needs {needed} few-shot examples; the pool has {len(pool)}")
    shots = ShotPicker(pool if cfg.shots else [], cfg.seed)
    prompts = [build_prompt(q, mode, shots.pick(q, cfg.shots), instruction, tokenizer, cfg.chat) for q in questions]
    start = time.perf_counter()
    if mode == "generate":
        records, metrics = _generate(model, tokenizer, questions, prompts, cfg)
    else:
        records, metrics = _score_choices(model, tokenizer, questions, prompts, mode, cfg)
    seconds = time.perf_counter() - start
    # `--mode acc_norm` scores like "choice" but reports acc_norm as the headline number
    primary = requested if requested in metrics else next(iter(metrics))
    return {
        "mode": mode,
        "n": len(questions),
        "metrics": metrics,
        "primary": primary,
        "seconds": seconds,
        "questions_per_s": len(questions) / seconds if seconds else None,
        "example_prompt": (
            prompts[0].context + (prompts[0].continuations or [""])[questions[0].answer]
            if mode != "generate"
            else prompts[0].context
        )
        if prompts
        else None,
        "questions": records,
    }


def evaluate(
    model,
    tokenizer,
    benches: list[str],
    cfg: EvalConfig = EvalConfig(),
    split: str | None = None,
    limit: int | None = None,
    data_paths: dict[str, str] | None = None,
    progress=print,
) -> dict:
    """Evaluate on each named benchmark (or data file). Returns the results dict."""
    data_paths = data_paths or {}
    unknown = [b for b in benches if split_of(b)[0] not in BENCHMARKS and not Path(b).exists()]
    if unknown:
        get_benchmark(unknown[0])  # raises with the list of accepted names
    results: dict[str, dict] = {}
    default_split = split
    for entry in benches:
        name, split = split_of(entry)
        split = split or default_split
        spec = BENCHMARKS.get(name)
        questions = load_benchmark(name, split=split, path=data_paths.get(name), limit=limit)
        if not questions:
            raise KaleValueError(f"benchmark {name!r} loaded no questions")
        mode = (spec.mode if spec else "choice") if cfg.mode == "auto" else cfg.mode
        pool = None
        if cfg.shots and spec and spec.fewshot_split and spec.fewshot_split != (split or spec.default_split):
            pool = load_benchmark(name, split=spec.fewshot_split, path=data_paths.get(name))
        res = evaluate_questions(model, tokenizer, questions, mode, cfg, pool, spec.instruction if spec else None)
        res["split"] = split or (spec.default_split if spec else None)
        res["shots"] = cfg.shots
        results[name] = res
        m = res["metrics"][res["primary"]]
        progress(
            f"{name}: {res['primary']} {m['value']:.4f} [{m['ci95'][0]:.4f}, {m['ci95'][1]:.4f}] "
            f"n={res['n']} ({res['questions_per_s']:.2f} q/s)"
        )
    return results


def results_document(model_spec: str, benchmarks: dict, cfg: EvalConfig, name: str | None = None, **settings) -> dict:
    """The results.json content; `settings` (split, limit, data paths, device...) go into "config"."""
    from kale import __version__

    return {
        "run": name,
        "model": str(model_spec),
        "kale_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": {**asdict(cfg), **settings},
        "benchmarks": benchmarks,
    }


def write_results(doc: dict, out_dir: str | Path) -> Path:
    """Write results.json atomically (a crash never leaves a half-written file)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=float), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_results(path: str | Path) -> dict:
    from kale.exceptions import InputError, KaleFileNotFoundError

    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise KaleFileNotFoundError(f"{path}: no such file (a run folder holds {RESULTS_FILE}, written by kale eval)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: line {err.lineno}: invalid JSON ({err.msg})") from None
    if not isinstance(doc, dict) or "benchmarks" not in doc:
        raise InputError(f"{path}: not a kale results file (no 'benchmarks' key)")
    doc.setdefault("run", path.parent.name)
    if not doc["run"]:
        doc["run"] = path.parent.name
    return doc
