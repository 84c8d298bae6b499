"""`kale paths GRAPH SOURCE TARGET`: labelled paths between two entities."""

from __future__ import annotations

from pathlib import Path

import click

from kale.cli.errors import friendly_errors
from kale.graph import Graph
from kale.paths import METHODS


def split(entity: str) -> list[str]:
    """'a|b' names a set of entities; ids, labels and aliases all work."""
    return [e.strip() for e in entity.split("|") if e.strip()]


@click.command("paths")
@click.argument("graph_path", metavar="GRAPH", type=click.Path(path_type=Path))
@click.argument("source")
@click.argument("target")
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="shortest",
    show_default=True,
    help="shortest: all shortest paths; k_shortest: the --max-paths shortest; astar: the paper's multi-path A*.",
)
@click.option("--max-hops", default=3, show_default=True)
@click.option("--max-paths", default=10, show_default=True)
@click.option("--max-expansions", default=1_000_000, show_default=True)
@click.option("--timeout", default=5.0, show_default=True, help="Seconds per search.")
@click.option("--directed", is_flag=True, help="Follow edges only in their direction.")
@click.option("--relation", "relations", multiple=True, help="Only these relations (id or label; repeatable).")
@click.option("--exclude-relation", "exclude", multiple=True, help="Never these relations (repeatable).")
@click.option("--hub-cap", type=int, default=None, help="Do not pass through nodes of higher degree.")
@click.option("--seed", default=0, show_default=True, help="Anchor sampling seed (astar).")
@click.option(
    "--target-depth",
    type=click.IntRange(min=0),
    default=None,
    help="astar: hops of the targets' own distances added to the paper's bound (default: half of --max-hops; 0: the paper's bound alone).",
)
@friendly_errors
def paths_command(
    graph_path,
    source,
    target,
    method,
    max_hops,
    max_paths,
    max_expansions,
    timeout,
    directed,
    relations,
    exclude,
    hub_cap,
    seed,
    target_depth,
):
    """Paths from SOURCE to TARGET (ids, labels or aliases; 'a|b' for a set)."""
    graph = Graph.open(graph_path)
    result = graph.paths(
        split(source),
        split(target),
        method=method,
        max_hops=max_hops,
        max_paths=max_paths,
        max_expansions=max_expansions,
        timeout=timeout,
        directed=directed,
        relations=list(relations) or None,
        exclude_relations=list(exclude) or None,
        hub_cap=hub_cap,
        seed=seed,
        target_depth=target_depth,
    )
    for path in result:
        click.echo(f"{path.hops}  {graph.verbalise(path)}")
    status = f"{len(result)} path(s), {result.expanded:,} nodes expanded in {result.seconds * 1e3:.2f} ms"
    if result.truncated:
        status += f"; truncated: {result.reason}"
    elif not result.paths:
        status += f"; {result.reason}"
    click.echo(status, err=True)
