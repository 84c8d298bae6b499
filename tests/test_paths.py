"""Path search against a brute-force enumeration on random small graphs."""

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kale import Graph
from kale.exceptions import EntityNotFoundError, KaleValueError
from kale.paths import Path, PathResult

graphs = st.lists(st.tuples(st.integers(0, 11), st.integers(0, 2), st.integers(0, 11)), min_size=1, max_size=40)


def build(tmp_path_factory, triples):
    tmp = tmp_path_factory.mktemp("p")
    (tmp / "t.tsv").write_text("".join(f"n{h}\tr{r}\tn{t}\n" for h, r, t in triples))
    return Graph.build(tmp / "g.kg", triples=tmp / "t.tsv", progress=False)


def reference_paths(g, triples, sources, targets, max_hops, directed=False, allow=None, deny=(), hub_cap=None):
    """Every simple path (as node-index tuples) from a source to a target within max_hops."""
    edges = {(g.index(f"n{h}"), g.relation_index(f"r{r}"), g.index(f"n{t}")) for h, r, t in triples}
    degree = defaultdict(int)
    adj = defaultdict(set)
    for h, r, t in edges:
        degree[h] += 1
        degree[t] += 1
        if (allow is None or r in allow) and r not in deny and h != t:
            adj[h].add(t)
            if not directed:
                adj[t].add(h)
    targets = set(targets) - set(sources)
    found = []

    def walk(path):
        u = path[-1]
        if len(path) > 1 and u in targets:
            found.append(tuple(path))
            return
        if len(path) > 1 and hub_cap is not None and degree[u] > hub_cap:
            return
        if len(path) - 1 == max_hops:
            return
        for v in sorted(adj[u]):
            if v not in path:
                walk(path + [v])

    for s in sorted(set(sources)):
        walk([s])
    return sorted(found, key=lambda p: (len(p), p)), edges


def check_hops(g, edges, path, directed, allow, deny):
    for i, (r, fwd) in enumerate(zip(path.relations, path.forward)):
        a, b = path.nodes[i], path.nodes[i + 1]
        ok = lambda rr: (allow is None or rr in allow) and rr not in deny  # noqa: E731
        out = sorted(rr for (h, rr, t) in edges if h == a and t == b and ok(rr))
        inn = sorted(rr for (h, rr, t) in edges if h == b and t == a and ok(rr))
        if out:
            assert fwd and r == out[0]
        else:
            assert not directed and not fwd and r == inn[0]


options = st.fixed_dictionaries(
    {
        "max_hops": st.integers(1, 4),
        "max_paths": st.integers(1, 6),
        "directed": st.booleans(),
        "hub_cap": st.one_of(st.none(), st.integers(1, 6)),
        "allow": st.one_of(st.none(), st.sets(st.integers(0, 2), min_size=1)),
        "deny": st.sets(st.integers(0, 2), max_size=1),
    }
)


def search_kwargs(g, o):
    def rel(rs):
        known = {g.relation_id(i) for i in range(g.relation_count)}
        return [g.relation_index(f"r{r}") for r in rs if f"r{r}" in known]

    kwargs = dict(
        max_hops=o["max_hops"], max_paths=o["max_paths"], directed=o["directed"], hub_cap=o["hub_cap"], timeout=None
    )
    allow = None if o["allow"] is None else set(rel(o["allow"]))
    deny = set(rel(o["deny"]))
    kwargs["relations"] = None if allow is None else sorted(allow)
    kwargs["exclude_relations"] = sorted(deny)
    return kwargs, allow, deny


@settings(max_examples=60)
@given(triples=graphs, data=st.data(), o=options)
def test_all_methods_against_brute_force(tmp_path_factory, triples, data, o):
    g = build(tmp_path_factory, triples)
    nodes = list(range(g.node_count))
    sources = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=2))
    targets = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=2))
    kwargs, allow, deny = search_kwargs(g, o)
    every, edges = reference_paths(
        g, triples, sources, targets, o["max_hops"], o["directed"], allow, deny, o["hub_cap"]
    )
    shortest = [p for p in every if len(p) == len(every[0])] if every else []

    r = g.paths(sources, targets, method="shortest", **kwargs)
    got = [p.nodes for p in r]
    assert len(set(got)) == len(got)
    assert r.truncated == (len(shortest) > o["max_paths"])
    assert got == shortest[: o["max_paths"]], "in node order; a cut keeps the first ones"
    for p in r:
        check_hops(g, edges, p, o["directed"], allow, deny)
    if not every:
        assert r.reason

    k = g.paths(sources, targets, method="k_shortest", **kwargs)
    assert [p.nodes for p in k] == every[: o["max_paths"]]
    assert k.truncated == (len(every) > o["max_paths"])

    a = g.paths(
        sources,
        targets,
        method="astar",
        anchors=2,
        seed=data.draw(st.integers(0, 3)),
        target_depth=data.draw(st.one_of(st.none(), st.integers(0, 3))),
        **kwargs,
    )
    got = [p.nodes for p in a]
    assert set(got) <= set(every), "A* returns only real simple paths within the bounds"
    assert len(set(got)) == len(got) <= o["max_paths"]
    assert [len(p) for p in got] == sorted(len(p) for p in got), "shortest first"
    if every:
        assert got and len(got[0]) == len(every[0]), "A*'s first path is a shortest one"
        assert len(got) == min(len(every), o["max_paths"]) or a.truncated, "only a bound may leave paths out"
    for p in a:
        check_hops(g, edges, p, o["directed"], allow, deny)


def test_deterministic_across_runs_and_threads(wordnet_graph):
    g = wordnet_graph
    import numpy as np

    rng = np.random.default_rng(7)
    queries = [(int(a), int(b)) for a, b in rng.integers(0, g.node_count, (60, 2))]
    for method in ("shortest", "k_shortest", "astar"):
        one = [g.paths(s, t, method=method, max_hops=3, max_paths=5, timeout=None, seed=3).paths for s, t in queries]
        for threads in (1, 2):
            batch = g.paths_batch(
                queries, threads=threads, method=method, max_hops=3, max_paths=5, timeout=None, seed=3
            )
            assert [r.paths for r in batch] == one


def test_truncated_by_expansions_says_so(wordnet_graph):
    g = wordnet_graph
    r = g.paths("sun.n.01", "light.n.01", max_hops=5, max_expansions=3, timeout=None)
    assert r.truncated and "max_expansions=3" in r.reason
    full = g.paths("sun.n.01", "light.n.01", max_hops=5, timeout=None)
    assert not full.truncated and full.paths


def test_verbalise_and_triples(wordnet_graph):
    g = wordnet_graph
    r = g.paths("dog.n.01", "cat.n.01", max_hops=4)
    p = r.paths[0]
    assert g.verbalise(p) == "dog –hypernym→ domestic animal –hyponym→ domestic cat –hypernym→ cat"
    for h, rel, t in p.triples():
        assert t in g.neighbours(h, "out", rel)[0]


def test_bad_queries_are_clear(wordnet_graph):
    g = wordnet_graph
    with pytest.raises(EntityNotFoundError, match="unknown entity 'no such concept'"):
        g.paths("no such concept", "dog")
    with pytest.raises(KaleValueError, match="max_hops must be between 1 and 8"):
        g.paths("dog", "cat", max_hops=0)
    with pytest.raises(KaleValueError, match="max_hops must be between 1 and 8"):
        g.paths("dog", "cat", max_hops=1000)
    with pytest.raises(KaleValueError, match="sources is empty"):
        g.paths([], "cat")
    with pytest.raises(KaleValueError, match="method must be one of"):
        g.paths("dog", "cat", method="dijkstra")
    r = g.paths("dog.n.01", "dog.n.01")
    assert not r.paths and r.reason == "every target is also a source"


def test_results_are_values_that_pickle(wordnet_graph):
    import pickle

    g = wordnet_graph
    r = g.paths("dog.n.01", ["cat.n.01", "wolf.n.01"], max_hops=4, max_paths=3)
    again = pickle.loads(pickle.dumps(r))
    assert again.paths == r.paths and again.truncated == r.truncated and again.reason == r.reason
    assert again.sources == r.sources and again.targets == r.targets and again.expanded == r.expanded
    p = r.paths[0]
    assert pickle.loads(pickle.dumps(p)) == p and hash(pickle.loads(pickle.dumps(p))) == hash(p)
    assert len({p, Path(p.nodes, p.relations, p.forward)}) == 1
    assert list(r) == list(r.paths) and r[0] == p and len(r) == len(r.paths)
    assert again == r and hash(again) == hash(r) and not again != r
    assert p.hops == len(p.nodes) - 1 == len(p.triples())
    with pytest.raises(KaleValueError, match="needs 1 relations"):
        Path((1, 2), (), ())


def test_results_compare_by_their_answer(wordnet_graph):
    g = wordnet_graph
    query = dict(method="k_shortest", max_hops=4, timeout=None)
    r = g.paths("dog.n.01", "cat.n.01", **query)
    same = g.paths("dog.n.01", "cat.n.01", **query)
    assert r == same and hash(r) == hash(same) and len({r, same}) == 1, "seconds, a measurement, is left out"
    assert len(r) > 1 and r != g.paths("dog.n.01", "cat.n.01", **query, max_paths=1)
    assert r != g.paths("dog.n.01", "wolf.n.01", **query)
    fields = (r.paths, r.truncated, r.reason, r.expanded, r.seconds, r.sources, r.targets)
    assert PathResult(*fields) == r
    assert PathResult(r.paths, r.truncated, r.reason, r.expanded + 1, r.seconds, r.sources, r.targets) != r
    assert PathResult(r.paths, r.truncated, r.reason, r.expanded, r.seconds, r.targets, r.sources) != r
    assert r != r.paths and r != None  # noqa: E711  another type is never equal


def test_options_object_matches_keywords(wordnet_graph):
    g = wordnet_graph
    kwargs = dict(method="k_shortest", max_hops=4, max_paths=7, timeout=None, exclude_relations=["hyponym"])
    opts = g.path_options(**kwargs)
    queries = [("dog.n.01", "cat.n.01"), ("sun.n.01", "light.n.01"), (5, 77)]
    assert [g.paths(s, t, options=opts).paths for s, t in queries] == [
        g.paths(s, t, **kwargs).paths for s, t in queries
    ]
    assert [r.paths for r in g.paths_batch(queries, options=opts)] == [
        g.paths(s, t, **kwargs).paths for s, t in queries
    ]
    hyponym = g.relation_index("hyponym")
    assert all(hyponym not in p.relations for s, t in queries for p in g.paths(s, t, options=opts))


def test_bad_options_are_clear(wordnet_graph):
    g = wordnet_graph
    with pytest.raises(KaleValueError, match="unknown search option 'max_hop'"):
        g.paths("dog", "cat", max_hop=3)
    with pytest.raises(KaleValueError, match="max_paths must be a non-negative integer, not -1"):
        g.paths("dog", "cat", max_paths=-1)
    with pytest.raises(KaleValueError, match="timeout must be a positive number"):
        g.paths("dog", "cat", timeout=0)
    with pytest.raises(KaleValueError, match="relations: unknown relation 'no such relation'"):
        g.paths("dog", "cat", relations=["no such relation"])
    with pytest.raises(KaleValueError, match="options= or keyword options, not both"):
        g.paths("dog", "cat", options=g.path_options(), max_hops=2)
    with pytest.raises(KaleValueError, match=r"queries\[1\]: expected a \(sources, targets\) pair"):
        g.paths_batch([("dog", "cat"), "dog"])
    with pytest.raises(KaleValueError, match="targets: node index -1 is out of range"):
        g.paths("dog", -1)
