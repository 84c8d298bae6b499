"""Questions per second of `kale eval` scoring, per mode, for SmolLM2-135M-Instruct on CPU.

    PYTHONPATH=python python benches/bench_eval.py --limit 20
    PYTHONPATH=python python benches/bench_eval.py --model path/to/hf-folder --modes choice,lettered

Reports, per mode, questions/s and accuracy on the first --limit CommonsenseQA validation
questions (generate mode: the same questions asked for a free-text answer). Load time is
reported apart, since it does not scale with the number of questions.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--bench", default="csqa")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--shots", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--modes", default="choice,lettered,generate")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from kale.data import load_benchmark
    from kale.eval.models import load_model
    from kale.eval.runner import EvalConfig, evaluate_questions

    start = time.perf_counter()
    model, tokenizer = load_model(args.model)
    load_s = time.perf_counter() - start
    questions = load_benchmark(args.bench, limit=args.limit)
    rows = []
    for mode in args.modes.split(","):
        cfg = EvalConfig(shots=args.shots, batch_size=args.batch_size, max_new_tokens=16, n_resamples=200)
        if mode == "generate":  # ask for the answer text itself, so exact match means something
            from kale.data import Question

            asked = [
                Question(q.id, q.question + "\nOptions: " + "; ".join(q.choices), [q.gold], 0, source=q.source)
                for q in questions
            ]
        else:
            asked = questions
        res = evaluate_questions(model, tokenizer, asked, mode, cfg)
        primary = res["metrics"][res["primary"]]
        rows.append(
            {
                "mode": mode,
                "questions": res["n"],
                "seconds": round(res["seconds"], 2),
                "questions_per_s": round(res["questions_per_s"], 3),
                "metric": res["primary"],
                "value": round(primary["value"], 4),
                "ci95": [round(v, 4) for v in primary["ci95"]],
            }
        )
    summary = {
        "model": args.model,
        "bench": args.bench,
        "shots": args.shots,
        "batch_size": args.batch_size,
        "torch_threads": torch.get_num_threads(),
        "load_s": round(load_s, 1),
        "modes": rows,
    }
    if args.json:
        print(json.dumps(summary))
        return
    print(
        f"{args.model} on {args.bench} (first {args.limit}), {args.shots}-shot, batch {args.batch_size}, "
        f"{torch.get_num_threads()} threads; load {load_s:.1f} s"
    )
    print(f"{'mode':<10} {'q/s':>8} {'seconds':>8}  metric")
    for r in rows:
        print(
            f"{r['mode']:<10} {r['questions_per_s']:>8.3f} {r['seconds']:>8.2f}  {r['metric']} {r['value']:.3f} "
            f"[{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]"
        )


if __name__ == "__main__":
    main()
