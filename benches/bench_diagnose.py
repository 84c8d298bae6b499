"""The teachable-signal diagnostic's cost against the training it precedes, per row.

    python benches/bench_diagnose.py                       # SmolLM2-135M-Instruct, 32 CSQA rows
    python benches/bench_diagnose.py --data RATIONALES --rows 64

Prints rows/s of `kale diagnose` (both branches scored over every choice, plus the answer
tokens' divergence) beside rows/s of KA training steps on the same rows, and their ratio: the
diagnostic runs once before training, so it should cost a small fraction of the training.
Without --data the rows are CommonsenseQA training questions with oracle rationales
("The answer is X."): lengths as in the default run, no graph or writer needed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def oracle_rows(n: int, path: Path) -> Path:
    import polars as pl

    from kale.data.registry import load_benchmark

    qs = load_benchmark("csqa", split="train", limit=n)
    pl.DataFrame(
        [
            {
                "id": q.id,
                "question": q.question,
                "choices": q.choices,
                "answer": q.answer,
                "source": q.source,
                "rationale": f"The answer is {q.gold}.",
            }
            for q in qs
        ]
    ).write_parquet(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--data", default=None, help="a rationales Parquet file or synth folder")
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--steps", type=int, default=4, help="KA training steps of 4 rows to time")
    args = ap.parse_args()

    import torch

    from kale.train.config import TrainConfig
    from kale.train.data import collate, load_pairs
    from kale.train.diagnose import run_diagnostic
    from kale.train.model_io import load_model_and_tokenizer
    from kale.train.objective import Objective

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or str(oracle_rows(args.rows, Path(tmp) / "oracle.parquet"))
        cfg = TrainConfig(data=data, model=args.model, progress=False).validate()
        model, tok = load_model_and_tokenizer(cfg)
        examples = load_pairs(data, tok, cfg).examples[: args.rows]
        run_diagnostic(model, tok, examples[:4], cfg, progress=False)  # warm-up
        started = time.perf_counter()
        run_diagnostic(model, tok, examples, cfg, progress=False)
        diag = len(examples) / (time.perf_counter() - started)

        objective = Objective(cfg, model)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate)
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        model.train()
        mb = cfg.micro_batch_size
        batches = [examples[i * mb : (i + 1) * mb] for i in range(args.steps + 1)]
        seconds = []
        for b in batches:
            batch = collate(b, pad, cfg.mode)
            t0 = time.perf_counter()
            loss, _ = objective(model, batch, float(sum(e.answer_len for e in b)))
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            seconds.append(time.perf_counter() - t0)
        train_rows = mb * (len(seconds) - 1) / sum(seconds[1:])  # the first step warms up

    print(f"model {args.model}, {len(examples)} rows, {torch.get_num_threads()} threads")
    print(f"{'':28}{'rows/s':>10}{'s/row':>10}")
    print(f"{'kale diagnose':28}{diag:>10.2f}{1 / diag:>10.3f}")
    print(f"{'KA training step (4 rows)':28}{train_rows:>10.2f}{1 / train_rows:>10.3f}")
    print(
        f"diagnostic / training step, per row: {train_rows / diag:.2f}x "
        f"(one pass of the diagnostic costs {train_rows / diag:.2f} epochs of training)"
    )


if __name__ == "__main__":
    main()
