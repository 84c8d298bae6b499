"""`kale synth`: knowledge-induced rationale synthesis from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from kale.cli.errors import friendly_errors


@click.command("synth")
@click.option(
    "--graph", "graph_path", required=True, type=click.Path(path_type=Path), help="A graph built by `kale kg build`."
)
@click.option("--data", required=True, help="A benchmark name (csqa, arc_easy, ...) or a JSONL/Parquet/CSV file.")
@click.option("--split", default="train", show_default=True, help="The benchmark split to synthesise for.")
@click.option("--limit", type=int, default=None, help="Only the first N questions.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder of Parquet parts (rerun to resume).",
)
@click.option(
    "--writer",
    type=click.Choice(["template", "oracle", "transformers", "openai"]),
    default="template",
    show_default=True,
    help="template: the paths, then 'So the answer is X.'; oracle: only 'The answer is X.' (KA's upper bound); "
    "transformers: a local model; openai: any OpenAI-compatible server.",
)
@click.option(
    "--model",
    default="smollm2-135m-instruct",
    show_default=True,
    help="transformers: a folder, a .gguf file or the alias; openai: the served model name.",
)
@click.option("--endpoint", default=None, help="openai: the server's base URL, e.g. http://localhost:8000/v1.")
@click.option(
    "--api-key-env", default="OPENAI_API_KEY", show_default=True, help="openai: environment variable holding the key."
)
@click.option("--api-key-file", default=None, type=click.Path(dir_okay=False), help="openai: a file holding the key.")
@click.option("--concurrency", default=8, show_default=True, help="openai: requests in flight.")
@click.option("--rate-limit", type=float, default=None, help="openai: at most this many requests per second.")
@click.option("--request-timeout", default=60.0, show_default=True, help="openai: seconds per request.")
@click.option("--retries", default=5, show_default=True, help="openai: retries on 429, 5xx and network errors.")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Write again the rows of --out whose writer failed (server, network, timeout).",
)
@click.option(
    "--prompt",
    "prompt_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="A prompt template file ({question}, {choices}, {answer}, {paths}).",
)
@click.option("--no-paths", is_flag=True, help="The paper's 'w/o KI' ablation: rationales without knowledge paths.")
@click.option("--method", type=click.Choice(["astar", "shortest", "k_shortest"]), default="astar", show_default=True)
@click.option("--max-hops", default=3, show_default=True)
@click.option("--max-paths", default=5, show_default=True)
@click.option(
    "--hub-cap", default=10_000, show_default=True, help="Do not pass through nodes of higher degree (0: no cap)."
)
@click.option(
    "--target-depth",
    type=click.IntRange(min=0),
    default=None,
    help="astar: hops of the targets' own distances added to the paper's bound (default: half of --max-hops; 0: the paper's bound alone).",
)
@click.option("--shard", default=None, help="i/n: this machine's share of the questions.")
@click.option("--batch-size", default=32, show_default=True, help="Questions per Parquet part.")
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--judge",
    default=None,
    help="Also check each rationale with this model (a folder, a .gguf file or the alias): it must pick the right answer after reading it.",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="ray: run the batches as Ray tasks (pip install 'kale[ray]').",
)
@click.option(
    "--ray-address",
    default=None,
    help="ray: a cluster to join ('auto' or host:port); default: start a local Ray instance.",
)
@friendly_errors
def synth_command(
    graph_path,
    data,
    split,
    limit,
    out,
    writer,
    model,
    endpoint,
    api_key_env,
    api_key_file,
    concurrency,
    rate_limit,
    request_timeout,
    retries,
    retry_failed,
    prompt_path,
    no_paths,
    method,
    max_hops,
    max_paths,
    hub_cap,
    target_depth,
    shard,
    batch_size,
    seed,
    judge,
    engine,
    ray_address,
):
    """Write a rationale for every question of DATA, grounded in GRAPH's paths."""
    from kale.data.registry import load_benchmark
    from kale.graph import Graph
    from kale.model_source import resolve_model
    from kale.synth.knowledge import PathSettings
    from kale.synth.pipeline import SynthBatch, SynthJob, synthesise
    from kale.synth.prompts import load_prompt
    from kale.synth.writers import WriterSpec, read_api_key

    if writer == "openai" and not endpoint:
        raise click.UsageError("--writer openai needs --endpoint")
    if engine == "local" and ray_address:
        raise click.UsageError("--ray-address needs --engine ray")
    for spec in [judge] + ([model] if writer == "transformers" else []):
        if spec:
            resolve_model(spec)  # a bad model fails here, in one line, not in every worker
    graph = Graph.open(graph_path)  # checked here; workers reopen it by path
    questions = load_benchmark(data, split=split, limit=limit)
    job = SynthJob(
        graph=str(graph_path.resolve()),
        writer=WriterSpec(
            writer,
            absolute(model),
            endpoint,
            read_api_key(api_key_env, api_key_file) if writer == "openai" else None,
            concurrency,
            request_timeout,
            retries,
            rate_limit,
        ),
        prompt=load_prompt(prompt_path, with_paths=not no_paths),
        settings=PathSettings(
            method=method,
            max_hops=max_hops,
            max_paths=max_paths,
            hub_cap=hub_cap or None,
            target_depth=target_depth,
            seed=seed,
        ),
        with_paths=not no_paths,
        judge=absolute(judge),
    )
    click.echo(
        f"{len(questions):,} questions from {data} ({split}); linking against {graph!r}; {engine} engine", err=True
    )
    if engine == "ray":
        from kale.synth.ray_engine import RayEngine

        runner = RayEngine(job, ray_address)
    else:
        runner = SynthBatch.from_job(job)
    try:
        summary = synthesise(questions, out, runner, batch_size=batch_size, shard=shard, retry_failed=retry_failed)
    finally:
        if engine == "ray":
            runner.close()
    for line in summary.lines():
        click.echo(line)
    click.echo(f"rationales in {out}/ (read with polars.read_parquet('{out}/*.parquet'))")


def absolute(model: str | None) -> str | None:
    """A model that is a path, made absolute (a Ray worker may start elsewhere); an alias as it is."""
    if model and Path(model).expanduser().exists():
        return str(Path(model).expanduser().resolve())
    return model
