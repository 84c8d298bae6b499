"""`kale kg ...`: build, describe and browse knowledge graphs."""

from __future__ import annotations

from pathlib import Path

import click

from kale.cli.errors import friendly_errors
from kale.graph import WORDNET_DIR, Graph, generate


@click.group()
def kg() -> None:
    """Build, inspect and browse knowledge graphs."""


@kg.command("build")
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--triples",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="TSV/CSV file of head, relation, tail (repeatable; .gz/.bz2 ok).",
)
@click.option(
    "--labels", multiple=True, type=click.Path(exists=True, dir_okay=False), help="File of id, label (with --triples)."
)
@click.option(
    "--aliases",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="File of id, alias[, alias...] (with --triples).",
)
@click.option(
    "--descriptions",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="File of id, description (with --triples).",
)
@click.option(
    "--relation-labels",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Relation labels: TSV of id, label or a JSON object (with --triples).",
)
@click.option("--header", is_flag=True, help="Skip the first line of each delimited file.")
@click.option(
    "--ntriples",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Wikidata truthy N-Triples (.nt, .nt.gz, .nt.bz2; repeatable).",
)
@click.option(
    "--language",
    "languages",
    multiple=True,
    default=("en", "mul"),
    show_default=True,
    help="Name languages to keep from N-Triples, best first.",
)
@click.option(
    "--wordnet",
    type=click.Path(exists=False, file_okay=False),
    is_flag=False,
    flag_value=str(WORDNET_DIR),
    default=None,
    help=f"A WordNet 3.0 database directory [flag alone: {WORDNET_DIR}].",
)
@click.option("--memory", default="2G", show_default=True, help="Memory budget; larger inputs are sorted on disk.")
@click.option(
    "--on-error",
    type=click.Choice(["fail", "skip"]),
    default="fail",
    show_default=True,
    help="Stop at a malformed line, or skip and count it.",
)
@click.option("--overwrite", is_flag=True, help="Replace a graph already at OUT.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@friendly_errors
def build_command(
    out,
    triples,
    labels,
    aliases,
    descriptions,
    relation_labels,
    header,
    ntriples,
    languages,
    wordnet,
    memory,
    on_error,
    overwrite,
    quiet,
):
    """Build the graph directory OUT from triples, a Wikidata dump or WordNet."""
    graph = Graph.build(
        out,
        triples=list(triples) or None,
        labels=list(labels) or None,
        aliases=list(aliases) or None,
        descriptions=list(descriptions) or None,
        relation_labels=list(relation_labels) or None,
        header=header,
        ntriples=list(ntriples) or None,
        languages=languages,
        wordnet=wordnet,
        memory=memory,
        on_error=on_error,
        progress=not quiet,
        overwrite=overwrite,
    )
    print_info(graph)


def disk_bytes(graph: Graph) -> int:
    return sum(f.stat().st_size for f in Path(graph.path).iterdir() if f.is_file())


def adjacency_bytes(graph: Graph) -> int:
    names = (
        "out_offsets.u32",
        "out_targets.u32",
        "out_relations.u16",
        "in_offsets.u32",
        "in_sources.u32",
        "in_relations.u16",
    )
    arrays = graph.manifest["arrays"]
    return sum(arrays[n]["bytes"] for n in names)


def print_info(graph: Graph, top: int = 10) -> None:
    m = graph.manifest
    build = m["build"]
    edges = max(graph.edge_count, 1)
    click.echo(f"graph        {graph.path}")
    click.echo(f"nodes        {graph.node_count:,}")
    click.echo(f"edges        {graph.edge_count:,}")
    click.echo(f"relations    {graph.relation_count:,}")
    click.echo(f"names        {m['labels']:,} labels, {m['aliases']:,} aliases, {m['descriptions']:,} descriptions")
    click.echo(
        f"on disk      {disk_bytes(graph) / 2**20:,.1f} MiB; adjacency {adjacency_bytes(graph) / edges:.1f} bytes per edge (both directions, relations included)"
    )
    source = build.get("source", {})
    click.echo(
        f"built from   {source.get('reader', '?')} in {build.get('seconds', 0):.1f} s (format v{m['format_version']}, kale {build.get('kale_version', '?')})"
    )
    if build.get("duplicate_edges"):
        click.echo(f"duplicates   {build['duplicate_edges']:,} repeated edges merged")
    if build.get("bad_lines"):
        click.echo(f"bad lines    {build['bad_lines']:,} skipped, e.g. {build['bad_line_examples'][0]}")
    for reason, count in sorted(build.get("skipped", {}).items(), key=lambda kv: -kv[1]):
        click.echo(f"skipped      {count:,} {reason}")
    counts = graph.relation_counts()
    order = counts.argsort()[::-1][:top]
    click.echo("top relations:")
    for r in order:
        if counts[r]:
            name, rid = graph.relation_name(int(r)), graph.relation_id(int(r))
            click.echo(f"  {counts[r]:>12,}  {name}" + (f" ({rid})" if rid != name else ""))


@kg.command("info")
@click.argument("graph_path", metavar="GRAPH", type=click.Path(path_type=Path))
@click.option("--verify", is_flag=True, help="Also check every array against its checksum.")
@friendly_errors
def info_command(graph_path, verify):
    """Counts, size, provenance and top relations of GRAPH."""
    graph = Graph.open(graph_path, verify=verify)
    print_info(graph)
    if verify:
        click.echo("checksums    all arrays match")


def describe(graph: Graph, node: int) -> str:
    label = graph.label(node)
    return f"{label} ({graph.id(node)})" if label else graph.id(node)


def show_entity(
    graph: Graph, entity: str, *, direction: str = "both", relation: str | None = None, limit: int = 20
) -> None:
    node = graph.resolve(entity)
    matches = graph.find(entity)
    click.echo(click.style(describe(graph, node), bold=True))
    if graph.description(node):
        click.echo(f"  {graph.description(node)}")
    aliases = graph.aliases(node)
    if aliases:
        click.echo(f"  also: {', '.join(aliases[:10])}{' ...' if len(aliases) > 10 else ''}")
    others = [m for m in matches if m != node]
    if others:
        click.echo(
            f"  other matches for {entity!r}: {', '.join(describe(graph, m) for m in others[:5])}{' ...' if len(others) > 5 else ''}"
        )
    rel = graph.relation_index(relation) if relation else None
    edges = graph.edges(node, direction, rel)
    click.echo(f"  degree {graph.degree(node):,}; showing {min(limit, len(edges))} of {len(edges):,} {direction} edges")
    for e in edges[:limit]:
        name = graph.relation_name(e.relation)
        arrow = f"–{name}→" if e.outgoing else f"←{name}–"
        click.echo(f"    {arrow} {describe(graph, e.neighbour)}")


@kg.command("show")
@click.argument("graph_path", metavar="GRAPH", type=click.Path(path_type=Path))
@click.argument("entities", metavar="ENTITY...", nargs=-1, required=True)
@click.option("--direction", type=click.Choice(["out", "in", "both"]), default="both", show_default=True)
@click.option("--relation", default=None, help="Only edges of this relation (id or label).")
@click.option("--limit", default=20, show_default=True, help="Edges to list per entity.")
@friendly_errors
def show_command(graph_path, entities, direction, relation, limit):
    """Show ENTITY (an id like Q42, or a label or alias) and its labelled neighbours."""
    graph = Graph.open(graph_path)
    for entity in entities:
        show_entity(graph, entity, direction=direction, relation=relation, limit=limit)


@kg.command("generate")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--nodes", default=1_000_000, show_default=True)
@click.option("--edges", default=10_000_000, show_default=True)
@click.option("--relations", default=2000, show_default=True)
@click.option("--hubs", default=5, show_default=True, help="Nodes that receive --hub-share of all edges.")
@click.option("--hub-share", default=0.08, show_default=True)
@click.option("--seed", default=0, show_default=True)
@friendly_errors
def generate_command(out, nodes, edges, relations, hubs, hub_share, seed):
    """Write a Wikidata-shaped random graph to OUT as TSV triples (.gz if named so)."""
    generate(out, nodes=nodes, edges=edges, relations=relations, hubs=hubs, hub_share=hub_share, seed=seed)
    click.echo(f"wrote {edges:,} edges over {nodes:,} nodes to {out}")
