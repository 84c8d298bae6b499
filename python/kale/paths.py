"""Path search results and their verbalisation.

`Graph.paths` and `Graph.paths_batch` (in kale.graph) call the Rust search and wrap
its output here: a `PathResult` with `Path`s shortest first, a `truncated` flag and
the reason, and search statistics.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kale.exceptions import KaleValueError

if TYPE_CHECKING:
    from kale.graph import Graph

METHODS = ("shortest", "k_shortest", "astar")


@dataclass(frozen=True)
class Path:
    """Node indices, and per hop the relation and whether the edge points forward."""

    nodes: tuple[int, ...]
    relations: tuple[int, ...]
    forward: tuple[bool, ...]

    @property
    def hops(self) -> int:
        return len(self.relations)

    def triples(self) -> list[tuple[int, int, int]]:
        """The path's edges as (head, relation, tail) in the graph's own direction."""
        out = []
        for i, (r, fwd) in enumerate(zip(self.relations, self.forward)):
            a, b = self.nodes[i], self.nodes[i + 1]
            out.append((a, r, b) if fwd else (b, r, a))
        return out


@dataclass(frozen=True)
class PathResult:
    paths: list[Path]
    truncated: bool
    reason: str | None
    expanded: int
    seconds: float
    sources: tuple[int, ...] = field(default=())
    targets: tuple[int, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self):
        return iter(self.paths)


def from_raw(raw, sources, targets) -> PathResult:
    paths, truncated, reason, expanded, seconds = raw
    return PathResult(
        paths=[Path(tuple(n), tuple(r), tuple(f)) for n, r, f in paths],
        truncated=truncated,
        reason=reason,
        expanded=expanded,
        seconds=seconds,
        sources=tuple(sources),
        targets=tuple(targets),
    )


def resolve_set(graph: Graph, entities: int | str | Iterable[int | str], what: str) -> list[int]:
    """Node indices from an index, an id/label/alias, or an iterable of those."""
    if isinstance(entities, int) and 0 <= entities < graph.node_count:
        return [entities]  # the common case, kept cheap for per-query loops
    if isinstance(entities, (int, str)):
        entities = [entities]
    nodes = []
    for e in entities:
        if isinstance(e, str):
            nodes.append(graph.resolve(e))
        elif isinstance(e, int) or hasattr(e, "__index__"):
            index = int(e)
            if not 0 <= index < graph.node_count:
                raise KaleValueError(f"{what}: node index {index} is out of range (the graph has {graph.node_count:,} nodes)")
            nodes.append(index)
        else:
            raise KaleValueError(f"{what}: expected node indices, ids or labels, got {type(e).__name__}")
    if not nodes:
        raise KaleValueError(f"{what} is empty: a search needs at least one source and one target")
    return nodes


def verbalise(graph: Graph, path: Path) -> str:
    """`the Sun –emits→ light ←part of– white light`, with labels (ids where none)."""
    parts = [graph.name(path.nodes[0])]
    for i, (r, fwd) in enumerate(zip(path.relations, path.forward)):
        name = graph.relation_name(r)
        parts.append(f"–{name}→" if fwd else f"←{name}–")
        parts.append(graph.name(path.nodes[i + 1]))
    return " ".join(parts)
