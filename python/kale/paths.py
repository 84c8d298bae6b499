"""Path search results and their verbalisation.

`Graph.paths` and `Graph.paths_batch` run in Rust (kale._core) and return a
`PathResult`: `Path`s shortest first, a `truncated` flag and the reason, and search
statistics. Both are immutable, hashable and picklable, and compare by value: two results
are equal when their queries and answers are (`seconds`, a measurement, is left out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kale._core import Path, PathOptions, PathResult

if TYPE_CHECKING:
    from kale.graph import Graph

__all__ = ["METHODS", "Path", "PathOptions", "PathResult", "verbalise"]

METHODS = ("shortest", "k_shortest", "astar")


def verbalise(graph: Graph, path: Path) -> str:
    """`the Sun –emits→ light ←part of– white light`, with labels (ids where none)."""
    nodes = path.nodes
    parts = [graph.name(nodes[0])]
    for i, (r, fwd) in enumerate(zip(path.relations, path.forward)):
        name = graph.relation_name(r)
        parts.append(f"–{name}→" if fwd else f"←{name}–")
        parts.append(graph.name(nodes[i + 1]))
    return " ".join(parts)
