"""`kale link GRAPH TEXT`: the entities a text (and optionally its answer) mentions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kale.cli.errors import friendly_errors
from kale.graph import Graph
from kale.link import Linker, Mention


def _show(graph: Graph, kind: str, mentions: list[Mention]) -> None:
    if not mentions:
        click.echo(f"{kind}: no mentions")
    for m in mentions:
        cands = ", ".join(f"{c.label} ({graph.id(c.node)}) {c.score:.2f}" for c in m.candidates) or "-"
        click.echo(f"{kind} {m.start}:{m.end} {m.mention!r} [{m.alias}] -> {cands}")


def _as_dict(graph: Graph, m: Mention) -> dict:
    return {
        "start": m.start,
        "end": m.end,
        "mention": m.mention,
        "alias": m.alias,
        "candidates": [
            {"node": c.node, "id": graph.id(c.node), "label": c.label, "score": round(c.score, 4)} for c in m.candidates
        ],
    }


def _link_stream(
    graph: Graph, linker: Linker, lines, top_k: int, context: bool, as_json: bool, batch: int = 1000
) -> None:
    """Links a text a batch of lines at a time, printing as it goes: memory stays that of one
    batch however long the text (offsets count code points from the start of the text)."""
    start = 0
    while chunk := [line for _, line in zip(range(batch), lines)]:
        for line, mentions in zip(chunk, linker.link_batch(chunk, top_k=top_k, context=context)):
            for m in mentions:
                m = m._replace(start=m.start + start, end=m.end + start)
                if as_json:
                    click.echo(json.dumps(_as_dict(graph, m), ensure_ascii=False))
                else:
                    _show(graph, "T", [m])
            start += len(line)


@click.command("link")
@click.argument("graph_path", metavar="GRAPH", type=click.Path(path_type=Path))
@click.argument("text", required=False)
@click.option(
    "--file",
    "text_file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="Link the text of this file ('-': standard input), a batch of lines at a time; --json then prints one mention per line.",
)
@click.option(
    "--answer",
    default=None,
    help="An answer to link with TEXT as its question (the whole answer wins when it is an alias).",
)
@click.option("--whole", is_flag=True, help="TEXT is an answer: when all of it is an alias, that is the one mention.")
@click.option("--top-k", default=3, show_default=True, help="Candidates shown per mention.")
@click.option(
    "--context/--no-context",
    default=None,
    help="Re-rank candidates by graph closeness to the other mentions (default: on with --answer).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
@friendly_errors
def link_command(graph_path, text, text_file, answer, whole, top_k, context, as_json):
    """Mentions of TEXT (or of a file's text) and their candidate entities, with labels and scores."""
    if (text is None) == (text_file is None):
        raise click.UsageError("give TEXT or --file (a file, or '-' for standard input), not both")
    if text_file is not None and (answer is not None or whole):
        raise click.UsageError("--answer and --whole go with TEXT, not --file")
    graph = Graph.open(graph_path)
    linker = Linker.build(graph)
    click.echo(f"index: {linker.alias_count:,} aliases built in {linker.build_seconds:.2f} s", err=True)
    if text_file is not None:
        return _link_stream(graph, linker, text_file, top_k, bool(context), as_json)
    if answer is not None:
        question_mentions, answer_mentions = linker.link_qa(
            text, answer, top_k=top_k, context=True if context is None else context
        )
        groups = [("Q", question_mentions), ("A", answer_mentions)]
    else:
        groups = [("T", linker.link(text, whole=whole, top_k=top_k, context=bool(context)))]
    if as_json:
        click.echo(
            json.dumps({kind: [_as_dict(graph, m) for m in ms] for kind, ms in groups}, ensure_ascii=False, indent=1)
        )
    else:
        for kind, ms in groups:
            _show(graph, kind, ms)
