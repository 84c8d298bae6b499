"""Path search benchmark: kale beside networkx, python-igraph, rustworkx and a plain
bidirectional, hop-bounded, hub-capped search in pure Python (defined below).

For each graph, a fixed seeded set of query pairs at distances 1-4 plus pairs that are
farther or unreachable; per-query p50/p95 and queries/s for
  (a) all shortest paths within 4 hops,  (b) the 10 shortest simple paths within 4 hops,
and kale's batched search on 2 threads. Ratios are how many times faster kale is.

    python benches/bench_paths.py [--queries 600] [--lib-queries 200] [--generated 200000:2000000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from itertools import islice, takewhile, zip_longest
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"
MAX_HOPS = 4
K = 10


# --- the pure-Python reference: what a careful user would write by hand -------------
def py_all_shortest(adj, s, t, max_hops, hub_cap=None):
    """All shortest s-t paths within max_hops by bidirectional BFS (level by level)."""
    if s == t:
        return []
    par = [{s: []}, {t: []}]
    front = [[s], [t]]
    depth = [0, 0]
    while depth[0] + depth[1] < max_hops and front[0] and front[1]:
        side = 0 if sum(len(adj[u]) for u in front[0]) <= sum(len(adj[u]) for u in front[1]) else 1
        nxt = defaultdict(list)
        for u in front[side]:
            if depth[side] > 0 and hub_cap is not None and len(adj[u]) > hub_cap:
                continue
            for v in adj[u]:
                if v not in par[side]:
                    if hub_cap is not None and len(adj[v]) > hub_cap and v not in (s, t):
                        continue
                    nxt[v].append(u)
        depth[side] += 1
        par[side].update(nxt)
        front[side] = list(nxt)
        meet = [v for v in nxt if v in par[1 - side]]
        if meet:

            def chains(p, v):
                if not p[v]:
                    return [[v]]
                return [[v] + c for u in p[v] for c in chains(p, u)]

            out = []
            for m in meet:
                for a in chains(par[0], m):
                    for b in chains(par[1], m):
                        out.append(tuple(a[::-1] + b[1:]))
            return sorted(out)
    return []


def bfs_distances(adj, root, depth, limit=None):
    """Hop distances from root up to depth (stopping early past `limit` nodes)."""
    dist = {root: 0}
    front = [root]
    for d in range(1, depth + 1):
        nxt = []
        for u in front:
            for v in adj[u]:
                if v not in dist:
                    dist[v] = d
                    nxt.append(v)
        front = nxt
        if limit is not None and len(dist) > limit:
            break
    return dist


def py_k_shortest(adj, s, t, max_hops, k):
    """The k shortest simple s-t paths within max_hops: DFS by length, pruned by BFS distance to t."""
    dist = bfs_distances(adj, t, max_hops - 1)
    found = []

    def walk(path, length):
        u = path[-1]
        if len(path) - 1 == length:
            if u == t:
                found.append(tuple(path))
            return
        if len(path) > 1 and u == t:
            return
        for v in sorted(adj[u]):
            if dist.get(v, 99) <= length - len(path) and v not in path:
                path.append(v)
                walk(path, length)
                path.pop()
                if len(found) >= k:
                    return

    for length in range(1, max_hops + 1):
        walk([s], length)
        if len(found) >= k:
            break
    return found[:k]


# --- graphs and queries -----------------------------------------------------------
def load(name, workdir, generated):
    from kale import Graph

    if name == "WordNet":
        return Graph.build(workdir / "wn.kg", wordnet="/usr/share/wordnet", progress=False, overwrite=True)
    if name == "CoDEx-M":
        return Graph.build(
            workdir / "codex.kg", triples=SHARED / "data/codex-m/triples.tsv", progress=False, overwrite=True
        )
    from kale.graph import generate

    nodes, edges = generated
    tsv = workdir / f"gen-{nodes}-{edges}.tsv"
    if not tsv.exists():
        generate(tsv, nodes=nodes, edges=edges, seed=0)
    return Graph.build(workdir / "gen.kg", triples=tsv, progress=False, overwrite=True)


def undirected_adjacency(g):
    adj = []
    for n in range(g.node_count):
        nb = g.neighbours(n, "both")[0]
        adj.append(sorted(set(nb.tolist()) - {n}))
    return adj


def bfs_layers(indptr, indices, root, depth, limit=None):
    """The nodes at hop distance 1..depth from root, each layer in breadth-first discovery
    order (bfs_distances', in numpy: query drawing runs hundreds of these on graphs of
    millions of edges). Stops after the layer that takes the count past `limit`."""
    seen = np.zeros(len(indptr) - 1, dtype=bool)
    seen[root] = True
    front, layers, total = np.array([root]), [], 1
    for _ in range(depth):
        starts, lens = indptr[front], indptr[front + 1] - indptr[front]
        m = int(lens.sum())
        offsets = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(m)
        found = indices[offsets]
        found = found[~seen[found]]
        unique, first = np.unique(found, return_index=True)
        front = unique[np.argsort(first, kind="stable")]  # first seen first, as a BFS finds them
        seen[front] = True
        layers.append(front)
        total += len(front)
        if limit is not None and total > limit:
            break
    return layers, seen


def queries(adj, count, seed):
    """count pairs: equal shares at distances 1..4, and a share farther than 4 or unreachable."""
    rng = np.random.default_rng(seed)
    want = {d: count // 5 for d in (1, 2, 3, 4, 5)}
    indptr = np.zeros(len(adj) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(a) for a in adj])
    indices = np.fromiter((v for a in adj for v in a), dtype=np.int64, count=int(indptr[-1]))
    out = []
    # A dense graph may have no pair farther than 4 hops: stop drawing after a while
    # and fill the rest with near pairs, saying so.
    for _ in range(count):
        if not any(want.values()):
            break
        s = int(rng.integers(len(adj)))
        layers, reached = bfs_layers(indptr, indices, s, 4, limit=200_000)
        for d in (1, 2, 3, 4):
            layer = layers[d - 1] if len(layers) >= d else []
            if want[d] and len(layer):
                out.append((s, int(layer[rng.integers(len(layer))]), d))
                want[d] -= 1
        if want[5]:
            t = int(rng.integers(len(adj)))
            if not reached[t]:
                out.append((s, t, 5))
                want[5] -= 1
    if want[5]:
        print(f"  (only {count // 5 - want[5]} pairs farther than 4 hops found; {want[5]} more near pairs instead)")
        near = [q for q in out if q[2] < 5]
        out += [near[int(i)] for i in rng.integers(len(near), size=want[5])]
    return out


def spread(qs, n):
    """n of the queries, an equal share at each distance, interleaved so that a time budget
    cuts every distance alike. (Every n-th query would not do: each source gives one query
    per distance in turn, so a stride of 10 picks the same two distances every time.)"""
    by_distance = defaultdict(list)
    for q in qs:
        by_distance[q[2]].append(q)
    per = -(-n // len(by_distance))
    shares = [d[:: max(1, len(d) // per)][:per] for _, d in sorted(by_distance.items())]
    return [q for group in zip_longest(*shares) for q in group if q is not None][:n]


def timed(fn, qs, budget=None):
    """Per-query seconds and answers; with `budget`, stop once that many seconds are spent.
    A query that takes under a millisecond is run up to three times and its best time
    kept, for every implementation alike: at a few microseconds one preempted run on a
    shared machine would otherwise decide the percentile. As timeit does, the garbage
    collector is off while timing: a collection set off by one implementation's objects
    walks every object alive (the libraries' graphs too) inside another's call."""
    with collector_off():
        return _timed(fn, qs, budget)


@contextmanager
def collector_off():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _timed(fn, qs, budget):
    times, answers, spent = [], [], 0.0
    for s, t, _ in qs:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            answer = fn(s, t)
            took = time.perf_counter() - t0
            best, spent = min(best, took), spent + took
            if took > 1e-3:
                break
        times.append(best)
        answers.append(answer)
        if budget is not None and spent > budget:
            break
    return times, answers


def stats(times):
    q = statistics.quantiles(times, n=20) if len(times) > 1 else times * 19
    return statistics.median(times), q[18], len(times) / sum(times)


def row(name, times, base):
    p50, p95, qps = stats(times)
    r = "" if base is None else f"  kale is {p50 / base[0]:8.1f}x / {p95 / base[1]:8.1f}x faster (p50/p95)"
    return f"  {name:<24} p50 {p50 * 1e6:10.1f} µs  p95 {p95 * 1e6:10.1f} µs  {qps:12,.0f} q/s{r}"


def library_fns(adj, which):
    fns = {}
    edges = [(u, v) for u in range(len(adj)) for v in adj[u] if u < v]
    if "networkx" in which:
        import networkx as nx

        Gnx = nx.Graph()
        Gnx.add_nodes_from(range(len(adj)))
        Gnx.add_edges_from(edges)

        def nx_all(s, t):
            try:
                return sorted(tuple(p) for p in nx.all_shortest_paths(Gnx, s, t) if len(p) - 1 <= MAX_HOPS)
            except nx.NetworkXNoPath:
                return []

        def nx_k(s, t):
            try:
                return [
                    tuple(p)
                    for p in islice(takewhile(lambda p: len(p) - 1 <= MAX_HOPS, nx.shortest_simple_paths(Gnx, s, t)), K)
                ]
            except nx.NetworkXNoPath:
                return []

        fns["networkx"] = (nx_all, nx_k)
    if "igraph" in which:
        import igraph as ig

        Gig = ig.Graph(n=len(adj), edges=edges)
        fns["igraph"] = (
            lambda s, t: sorted(tuple(p) for p in Gig.get_all_shortest_paths(s, to=t) if len(p) - 1 <= MAX_HOPS),
            lambda s, t: [tuple(p) for p in Gig.get_k_shortest_paths(s, to=t, k=K) if 0 < len(p) - 1 <= MAX_HOPS],
        )
    if "rustworkx" in which:
        import rustworkx as rx

        Grx = rx.PyGraph(multigraph=False)
        Grx.add_nodes_from(range(len(adj)))
        Grx.add_edges_from_no_data(edges)
        # rustworkx has no k shortest simple paths; all_simple_paths with a cutoff stands in,
        # but it enumerates every path, which on a dense graph is millions per query and
        # cannot be stopped by the time budget (checked between queries).
        dense = len(edges) * 2 / max(1, len(adj)) > 8
        fns["rustworkx"] = (
            lambda s, t: sorted(tuple(p) for p in rx.all_shortest_paths(Grx, s, t) if len(p) - 1 <= MAX_HOPS),
            None
            if dense
            else lambda s, t: sorted(
                (tuple(p) for p in rx.all_simple_paths(Grx, s, t, cutoff=MAX_HOPS)), key=lambda p: (len(p), p)
            )[:K],
        )
    return fns


def bench_graph(name, g, args):
    adj = undirected_adjacency(g)
    qs = queries(adj, args.queries, seed=1)
    lib_qs = spread(qs, args.lib_queries)
    print(
        f"\n## {name}: {g.node_count:,} nodes, {g.edge_count:,} edges; {len(qs)} queries (libraries: {len(lib_qs)} of them)"
    )
    for label, method, ref in (
        ("(a) all shortest paths <= 4 hops", "shortest", lambda s, t: py_all_shortest(adj, s, t, MAX_HOPS)),
        ("(b) 10 shortest simple paths <= 4 hops", "k_shortest", lambda s, t: py_k_shortest(adj, s, t, MAX_HOPS, K)),
    ):
        print(f" {label}")
        # Options built once, as a loop over many queries would (Graph.path_options).
        opts = g.path_options(
            method=method, max_hops=MAX_HOPS, max_paths=10_000 if method == "shortest" else K, timeout=None
        )
        kale = lambda s, t: g.paths(s, t, options=opts)  # noqa: E731, B023  timed in this iteration
        kt, ka = timed(kale, qs)
        print(row("kale", kt, None))
        rt, ra = timed(ref, qs, budget=args.ref_budget)
        agree = sum(sorted(p.nodes for p in a.paths) == sorted(r) for a, r in zip(ka, ra))
        cut = sum(
            method == "shortest" and a.truncated and set(p.nodes for p in a.paths) <= set(r) for a, r in zip(ka, ra)
        )
        note = f" (+{cut} cut at max_paths, a subset of the reference's)" if cut else ""
        if len(rt) < len(qs):  # compared on the queries the reference answered in its budget
            note += f" (stopped after {len(rt)} queries: {args.ref_budget:.0f} s budget; kale on those)"
        print(row("pure-Python reference", rt, stats(kt[: len(rt)])) + f"   same answers: {agree}/{len(ra)}{note}")
        batch_s = []
        pairs = [(s, t) for s, t, _ in qs]
        with collector_off():
            for _ in range(3):  # the first call starts the pool's threads; a program makes many calls
                t0 = time.perf_counter()
                g.paths_batch(pairs, threads=2, options=opts)
                batch_s.append(time.perf_counter() - t0)
        batch_qps, first_qps = len(qs) / min(batch_s), len(qs) / batch_s[0]
        print(
            f"  {'kale paths_batch 2 thr':<24} {batch_qps:,.0f} q/s = {batch_qps / stats(rt)[2]:,.0f}x the reference's sequential throughput"
            f" (best of 3 calls; the first, starting the threads: {first_qps:,.0f} q/s)"
        )
        for lib, (fa, fb) in library_fns(adj, args.libs).items():
            fn = fa if method == "shortest" else fb
            if fn is None:
                print(
                    f"  {lib:<24} skipped: all_simple_paths enumerates every path within {MAX_HOPS} hops, unbounded on this dense graph"
                )
                continue
            lt, _ = timed(fn, lib_qs, budget=args.lib_budget)
            note = (
                ""
                if len(lt) == len(lib_qs)
                else f"   (stopped after {len(lt)} queries: {args.lib_budget:.0f} s budget)"
            )
            print(row(lib, lt, stats(timed(kale, lib_qs[: len(lt)])[0])) + note)
    if name.startswith("Wikidata"):
        cap = args.hub_cap
        t3 = [q for q in qs if q[2] <= 3]
        kt, _ = timed(lambda s, t: g.paths(s, t, max_hops=3, hub_cap=cap, max_paths=10_000, timeout=None), t3)
        p50, p95, qps = stats(kt)
        print(
            f" hub cap {cap}: all shortest paths <= 3 hops on {len(t3)} queries: p50 {p50 * 1e3:.2f} ms, p95 {p95 * 1e3:.2f} ms"
        )
    a_qs = lib_qs
    print(f" multi-path A* (4 anchors, depth 3), 10 paths <= 4 hops, {len(a_qs)} queries:")
    for label, depth in (("the paper's bound alone", 0), ("with the targets' distances (default)", None)):
        at, answers = timed(
            lambda s, t: g.paths(
                s,
                t,
                method="astar",
                max_hops=MAX_HOPS,
                max_paths=K,
                timeout=None,
                target_depth=depth,  # noqa: B023  timed now
            ),
            a_qs,
        )
        p50, p95, qps = stats(at)
        stopped = sum(r.truncated and "max_expansions" in r.reason for r in answers)
        print(
            f"  {label:<40} p50 {p50 * 1e3:8.2f} ms  p95 {p95 * 1e3:8.2f} ms  {qps:10,.0f} q/s   stopped by max_expansions: {stopped}"
        )


def main():
    import functools

    global print
    print = functools.partial(print, flush=True)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--queries", type=int, default=600)
    p.add_argument("--lib-queries", type=int, default=150, help="queries given to each library (the slow ones)")
    p.add_argument("--graphs", default="WordNet,CoDEx-M,Wikidata-shaped")
    p.add_argument("--generated", default="200000:2000000", help="NODES:EDGES of the Wikidata-shaped graph")
    p.add_argument("--hub-cap", type=int, default=10_000)
    p.add_argument("--lib-budget", type=float, default=60.0, help="seconds each library may spend per measurement")
    p.add_argument("--libs", default="networkx,igraph,rustworkx")
    p.add_argument(
        "--ref-budget", type=float, default=300.0, help="seconds the pure-Python reference may spend per measurement"
    )
    p.add_argument("--workdir", type=Path, default=None)
    args = p.parse_args()
    args.libs = set(args.libs.split(","))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kale-paths-"))
    workdir.mkdir(parents=True, exist_ok=True)
    generated = tuple(int(x) for x in args.generated.split(":"))
    for name in args.graphs.split(","):
        g = load(name, workdir, generated)
        bench_graph(name if name != "Wikidata-shaped" else f"Wikidata-shaped {generated[0]:,} nodes", g, args)


if __name__ == "__main__":
    main()
