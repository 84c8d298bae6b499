"""`kale quickstart`: the main job on embedded defaults.

For now it builds the real WordNet graph (from Debian's wordnet-base) and shows what
is in it; it grows into the whole pipeline (synthesis, training, evaluation).
"""

from __future__ import annotations

from pathlib import Path

import click

from kale.cli.errors import friendly_errors
from kale.cli.kg import print_info, show_entity
from kale.exceptions import KaleFileNotFoundError
from kale.graph import WORDNET_DIR, Graph

# WordNet sense names (lemma.pos.sense): the sun, white light and colour, a dog.
EXAMPLES = ("sun.n.01", "light.n.01", "white.n.02", "dog.n.01")


@click.command()
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default=Path("runs/quickstart"),
    show_default=True,
    help="Where the graph is built.",
)
@click.option("--wordnet", type=click.Path(file_okay=False, path_type=Path), default=WORDNET_DIR, show_default=True)
@friendly_errors
def quickstart(workdir: Path, wordnet: Path) -> None:
    """Build the WordNet graph and show a few concepts with their neighbours."""
    if not (wordnet / "data.noun").is_file():
        raise KaleFileNotFoundError(
            f"{wordnet} holds no WordNet database: install it with `apt-get install wordnet-base` or pass --wordnet DIR"
        )
    out = workdir / "wordnet.kg"
    if (out / "manifest.json").is_file():
        click.echo(f"using the graph already built at {out}")
        graph = Graph.open(out)
    else:
        click.echo(f"building the WordNet graph from {wordnet} into {out}")
        graph = Graph.build(out, wordnet=wordnet)
    print_info(graph, top=5)
    for concept in EXAMPLES:
        click.echo()
        show_entity(graph, concept, limit=8)
    click.echo("\nReasoning paths from the Sun to white light and to light (the paper's example):")
    result = graph.paths("sun.n.01", ["white.n.02", "light.n.01"], max_hops=5, max_paths=5)
    for path in result:
        click.echo(f"  {graph.verbalise(path)}")
    click.echo(f"  ({len(result)} shortest path(s), {result.expanded} nodes expanded in {result.seconds * 1e3:.2f} ms)")
    click.echo(f"\nbrowse more with: kale kg show {out} ENTITY  and  kale paths {out} SOURCE TARGET")
