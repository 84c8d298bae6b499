"""Step 1 and 2 of knowledge-induced synthesis: link E_q and E_a, then search paths.

For a batch of questions the linker finds the question's and the gold answer's
entities (the whole answer wins over its parts); the multi-path A* (or another
method) then searches from every question entity to every answer entity at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kale.data.schema import Question


@dataclass(frozen=True)
class PathSettings:
    method: str = "astar"
    max_hops: int = 3
    max_paths: int = 5
    hub_cap: int | None = 10_000
    target_depth: int | None = None  # astar: None = half of max_hops; 0 = the paper's bound alone
    timeout: float = 2.0
    entities_per_side: int = 4
    seed: int = 0


@dataclass
class Knowledge:
    q_entities: list[int] = field(default_factory=list)
    a_entities: list[int] = field(default_factory=list)
    paths: list = field(default_factory=list)  # kale.paths.Path
    verbalised: list[str] = field(default_factory=list)
    truncated: bool = False


def top_entities(mentions, limit: int) -> list[int]:
    """The best candidate of each mention, in order, without repeats."""
    nodes: list[int] = []
    for m in mentions:
        if m.top is not None and m.top.node not in nodes:
            nodes.append(m.top.node)
    return nodes[:limit]


def gather(
    graph, linker, questions: list[Question], settings: PathSettings, threads: int | None = None
) -> list[Knowledge]:
    pairs = linker.link_qa_batch([q.question for q in questions], [q.gold for q in questions], threads=threads)
    out = [
        Knowledge(top_entities(qm, settings.entities_per_side), top_entities(am, settings.entities_per_side))
        for qm, am in pairs
    ]
    searchable = [
        i for i, k in enumerate(out) if k.q_entities and k.a_entities and set(k.a_entities) - set(k.q_entities)
    ]
    if searchable:
        results = graph.paths_batch(
            [(out[i].q_entities, out[i].a_entities) for i in searchable],
            threads=threads,
            method=settings.method,
            max_hops=settings.max_hops,
            max_paths=settings.max_paths,
            hub_cap=settings.hub_cap,
            timeout=settings.timeout,
            seed=settings.seed,
            target_depth=settings.target_depth,
        )
        for i, result in zip(searchable, results):
            out[i].paths = list(result.paths)
            out[i].verbalised = [graph.verbalise(p) for p in result.paths]
            out[i].truncated = result.truncated
    return out
