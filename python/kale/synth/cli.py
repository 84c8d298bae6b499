"""`kale synth`: knowledge-induced rationale synthesis from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from kale.cli_errors import friendly_errors


@click.command("synth")
@click.option("--graph", "graph_path", required=True, type=click.Path(path_type=Path), help="A graph built by `kale kg build`.")
@click.option("--data", required=True, help="A benchmark name (csqa, arc_easy, ...) or a JSONL/Parquet/CSV file.")
@click.option("--split", default="train", show_default=True, help="The benchmark split to synthesise for.")
@click.option("--limit", type=int, default=None, help="Only the first N questions.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder of Parquet parts (rerun to resume).")
@click.option("--writer", type=click.Choice(["template", "transformers", "openai"]), default="template", show_default=True)
@click.option("--model", default="smollm2-135m-instruct", show_default=True, help="transformers: a folder, a .gguf file or the alias; openai: the served model name.")
@click.option("--endpoint", default=None, help="openai: the server's base URL, e.g. http://localhost:8000/v1.")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True, help="openai: environment variable holding the key.")
@click.option("--api-key-file", default=None, type=click.Path(dir_okay=False), help="openai: a file holding the key.")
@click.option("--concurrency", default=8, show_default=True, help="openai: requests in flight.")
@click.option("--rate-limit", type=float, default=None, help="openai: at most this many requests per second.")
@click.option("--request-timeout", default=60.0, show_default=True, help="openai: seconds per request.")
@click.option("--retries", default=5, show_default=True, help="openai: retries on 429, 5xx and network errors.")
@click.option("--prompt", "prompt_path", default=None, type=click.Path(dir_okay=False), help="A prompt template file ({question}, {choices}, {answer}, {paths}).")
@click.option("--no-paths", is_flag=True, help="The paper's 'w/o KI' ablation: rationales without knowledge paths.")
@click.option("--method", type=click.Choice(["astar", "shortest", "k_shortest"]), default="astar", show_default=True)
@click.option("--max-hops", default=3, show_default=True)
@click.option("--max-paths", default=5, show_default=True)
@click.option("--hub-cap", default=10_000, show_default=True, help="Do not pass through nodes of higher degree (0: no cap).")
@click.option("--shard", default=None, help="i/n: this machine's share of the questions.")
@click.option("--batch-size", default=32, show_default=True, help="Questions per Parquet part.")
@click.option("--seed", default=0, show_default=True)
@friendly_errors
def synth_command(graph_path, data, split, limit, out, writer, model, endpoint, api_key_env, api_key_file, concurrency, rate_limit, request_timeout,
                  retries, prompt_path, no_paths, method, max_hops, max_paths, hub_cap, shard, batch_size, seed):
    """Write a rationale for every question of DATA, grounded in GRAPH's paths."""
    from kale.data.registry import load_benchmark
    from kale.graph import Graph
    from kale.link import Linker
    from kale.synth.knowledge import PathSettings
    from kale.synth.pipeline import synthesise
    from kale.synth.prompts import load_prompt
    from kale.synth.writers import OpenAIWriter, TemplateWriter, TransformersWriter, read_api_key

    graph = Graph.open(graph_path)
    questions = load_benchmark(data, split=split, limit=limit)
    prompt = load_prompt(prompt_path, with_paths=not no_paths)
    if writer == "template":
        w = TemplateWriter()
    elif writer == "transformers":
        w = TransformersWriter(model)
    else:
        if not endpoint:
            raise click.UsageError("--writer openai needs --endpoint")
        w = OpenAIWriter(endpoint, model, api_key=read_api_key(api_key_env, api_key_file), concurrency=concurrency,
                         timeout=request_timeout, retries=retries, rate_limit=rate_limit)
    click.echo(f"{len(questions):,} questions from {data} ({split}); linking against {graph!r}", err=True)
    linker = Linker.build(graph)
    settings = PathSettings(method=method, max_hops=max_hops, max_paths=max_paths, hub_cap=hub_cap or None, seed=seed)
    summary = synthesise(graph, linker, questions, w, prompt, out, settings=settings, with_paths=not no_paths, batch_size=batch_size, shard=shard)
    for line in summary.lines():
        click.echo(line)
    click.echo(f"rationales in {out}/ (read with polars.read_parquet('{out}/*.parquet'))")
