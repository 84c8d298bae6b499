"""KA's sanity check on the real model: train on rationales that state the gold answer
("The answer is X.") for the first N CommonsenseQA training questions, then measure the
student's (no-rationale) gold probability and accuracy among the choices on those same
questions, before (kale train's preflight) and after.

    .venv/bin/python scripts/oracle_check.py 16 '{"divergence": "reverse_kl"}'

The second argument is a JSON object of TrainConfig fields (default: kale train's defaults,
micro-batch 4, 3 epochs). Prints one JSON line; docs/training.md has the measured table.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from kale.data.registry import load_benchmark
from kale.eval.models import load_model
from kale.train.config import TrainConfig
from kale.train.data import load_pairs
from kale.train.diagnose import run_diagnostic
from kale.train.trainer import train


def main(n: int, overrides: dict) -> dict:
    questions = load_benchmark("csqa", split="train", limit=n)
    work = Path(tempfile.mkdtemp(prefix="kale-oracle-"))
    data = work / "oracle.parquet"
    pl.DataFrame(
        [
            {
                "id": q.id,
                "question": q.question,
                "choices": q.choices,
                "answer": q.answer,
                "answer_text": q.gold,
                "source": q.source,
                "passage": q.passage,
                "subject": q.subject,
                "rationale": f"The answer is {q.gold}.",
                "ok": True,
            }
            for q in questions
        ]
    ).write_parquet(data)
    settings = {"micro_batch_size": 4, "epochs": 3, **overrides}
    cfg = TrainConfig(
        data=str(data),
        model="smollm2-135m-instruct",
        output_dir=str(work / "run"),
        progress=False,
        preflight=True,
        **settings,
    )
    start = time.time()
    final = train(cfg)
    before = pl.read_parquet(work / "run" / "teachable.parquet")
    model, tok = load_model(final)
    after = pl.DataFrame(run_diagnostic(model, tok, load_pairs(data, tok, cfg).examples, cfg, progress=False)[0])
    mean = lambda frame, col: round(float(frame[col].mean()), 3)  # noqa: E731
    return {
        **settings,
        "divergence": cfg.divergence,
        "target": cfg.target,
        "mode": cfg.mode,
        "learning_rate": cfg.learning_rate,
        "questions": n,
        "seconds": round(time.time() - start),
        "p_gold_prob": [mean(before, "p_gold_prob"), mean(after, "p_gold_prob")],
        "q_gold_prob": [mean(before, "q_gold_prob"), mean(after, "q_gold_prob")],
        "p_accuracy": [mean(before, "p_correct"), mean(after, "p_correct")],
    }


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    print(json.dumps(main(int(sys.argv[1]), json.loads(sys.argv[2]) if len(sys.argv) == 3 else {})))
