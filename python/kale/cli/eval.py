"""`kale eval` and `kale report`: click commands that kale.cli registers on the main group.

Importing this module is cheap (no torch); models load when `eval` runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from kale.cli.errors import friendly_errors
from kale.exceptions import KaleValueError

MODE_CHOICES = ["auto", "choice", "lettered", "generate", "acc", "acc_norm", "rc", "mc", "gen"]


def _parse_data(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep or not name or not path:
            raise KaleValueError(f"--data takes NAME=PATH (e.g. race_h=race_high_test.parquet), got {v!r}")
        out[name] = path
    return out


@click.command("eval")
@click.option("--model", required=True, help="HF model folder, a .gguf file, or the alias smollm2-135m-instruct.")
@click.option(
    "--bench",
    required=True,
    help="Comma-separated benchmarks, each optionally NAME:SPLIT: absr, csqa, arc_easy, arc_challenge, "
    "obqa, mmlu, race_h, race_m, bbh, or paths of data files in a supported schema.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder; results.json is written there.",
)
@click.option(
    "--split", default=None, help="Split to evaluate [each benchmark's default: test, or validation for csqa]."
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="First N questions of each benchmark.")
@click.option("--shots", type=click.IntRange(min=0), default=0, show_default=True, help="Few-shot examples.")
@click.option(
    "--mode",
    type=click.Choice(MODE_CHOICES),
    default="auto",
    show_default=True,
    help="choice: log-likelihood of each answer text (acc, acc_norm); lettered: of the option letter; "
    "generate: greedy answer + exact match. auto: the benchmark's default.",
)
@click.option("--chat/--no-chat", default=False, show_default=True, help="Wrap prompts in the chat template.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option(
    "--data",
    "data",
    multiple=True,
    metavar="NAME=PATH",
    help="Data for a benchmark (needed by race_h, race_m, bbh; overrides the built-in copy of others). Repeatable.",
)
@click.option(
    "--facts",
    type=click.Path(exists=True),
    default=None,
    help="KG facts per question for the known&incorrect probe: a kale synth output folder, "
    "or Parquet/JSONL/JSON (see docs/evaluation.md).",
)
@click.option("--facts-column", default="facts", show_default=True)
@click.option("--id-column", default="id", show_default=True)
@click.option(
    "--distractors",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Corrupted tails per fact in the fact check.",
)
@click.option("--device", default="cpu", show_default=True)
@click.option(
    "--threads",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="CPU threads for torch (0: torch's default). On a shared machine 1 can be several times faster.",
)
@click.option("--dtype", default="float32", show_default=True, type=click.Choice(["float32", "bfloat16", "float16"]))
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--seed", type=int, default=1234, show_default=True, help="Few-shot choice, bootstrap, distractors.")
@click.option("--bootstrap", type=click.IntRange(min=10), default=1000, show_default=True, help="Bootstrap resamples.")
@click.option("--name", default=None, help="Run name shown in reports [the --out folder's name].")
@friendly_errors
def eval_command(
    model,
    bench,
    out,
    split,
    limit,
    shots,
    mode,
    chat,
    batch_size,
    data,
    facts,
    facts_column,
    id_column,
    distractors,
    device,
    threads,
    dtype,
    max_new_tokens,
    seed,
    bootstrap,
    name,
):
    """Evaluate MODEL on benchmarks; write OUT/results.json (metrics with 95% CIs, per-question records)."""
    from kale.data.registry import BENCHMARKS, get_benchmark, split_of
    from kale.model_source import resolve_model

    benches = [b.strip() for b in bench.split(",") if b.strip()]
    if not benches:
        raise KaleValueError(f"--bench is empty; accepted: {', '.join(BENCHMARKS)}")
    for b in benches:
        if split_of(b)[0] not in BENCHMARKS and not Path(b).exists():
            get_benchmark(b)  # raises with the accepted names
    data_paths = _parse_data(data)
    resolve_model(model)  # fail on a bad path before the slow imports
    if facts:
        from kale.eval.known import load_fact_paths

        facts_by_id = load_fact_paths(facts, id_column, facts_column)
    from kale.eval.models import load_model
    from kale.eval.runner import EvalConfig, evaluate, results_document, write_results

    cfg = EvalConfig(
        mode=mode,
        shots=shots,
        chat=chat,
        batch_size=batch_size,
        seed=seed,
        n_resamples=bootstrap,
        max_new_tokens=max_new_tokens,
    )
    if threads:
        import torch

        torch.set_num_threads(threads)
    click.echo(f"loading {model} ...", err=True)
    lm, tokenizer = load_model(model, device=device, dtype=dtype)
    results = evaluate(
        lm, tokenizer, benches, cfg, split, limit, data_paths, progress=lambda m: click.echo(m, err=True)
    )
    if facts:
        from kale.eval.known import probe_benchmark

        for b, res in results.items():
            if not any(r["id"] in facts_by_id for r in res["questions"]):
                click.echo(f"{b}: no question has facts in {facts}; no fact check", err=True)
                continue
            s = probe_benchmark(
                lm, tokenizer, res, facts_by_id, n_distractors=distractors, seed=seed, batch_size=batch_size
            )
            r = s["known_incorrect_rate"]
            click.echo(
                f"{b}: known&incorrect {r['value']:.4f} of {r['n']} known questions ({s['n_checked']} with facts)",
                err=True,
            )
    settings = {
        "split": split,
        "limit": limit,
        "data": data_paths,
        "device": device,
        "dtype": dtype,
        "facts": str(facts) if facts else None,
        "distractors": distractors if facts else None,
    }
    path = write_results(results_document(model, results, cfg, name or out.name, **settings), out)
    click.echo(str(path))


@click.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for report.md, report.html and the plots.",
)
@click.option(
    "--metric",
    default="primary",
    show_default=True,
    help="Metric per benchmark: primary, acc, acc_norm, acc_per_token, exact_match.",
)
@friendly_errors
def report_command(runs, out, metric):
    """Compare RUN folders (or results.json files) side by side: accuracy per benchmark with 95%
    intervals and the known&incorrect rate, as Markdown and HTML with plots."""
    from kale.eval.report import write_report

    files = write_report(list(runs), out, metric)
    click.echo(str(files["report.html"]))
