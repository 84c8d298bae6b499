"""Graph store benchmark: kale beside networkx, python-igraph and rustworkx.

Each library loads the same TSV edge list (head, relation, tail) in its own process, so
peak memory is its own. Printed per graph: load/build time, peak RSS, bytes per edge,
open time and neighbour lookups per second, with ratios against kale.

    python benches/bench_graph_store.py                     # WordNet, CoDEx-M, generated 1M/10M
    python benches/bench_graph_store.py --generated 10000000:100000000 --only kale --memory 4G
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
SHARED = HERE.parents[2] / "shared"
LIBS = ("kale", "networkx", "igraph", "rustworkx")
LOOKUPS = 200_000


def peak_rss() -> int:
    # VmHWM, not ru_maxrss: ru_maxrss survives execve, so a worker would inherit the
    # parent's high-water mark.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def read_edges(tsv: Path):
    opener = open
    if tsv.suffix == ".gz":
        import gzip

        opener = gzip.open
    with opener(tsv, "rt", encoding="utf-8") as f:
        for line in f:
            h, r, t = line.rstrip("\n").split("\t")
            yield h, r, t


def worker(lib: str, tsv: Path, memory: str, workdir: Path) -> dict:
    base = peak_rss()
    result: dict = {}
    t0 = time.perf_counter()
    if lib == "kale":
        from kale import Graph

        out = workdir / "bench.kg"
        Graph.build(out, triples=tsv, memory=memory, progress=False, overwrite=True)
        result["build_s"] = time.perf_counter() - t0
        result["peak_rss"] = peak_rss() - base
        t1 = time.perf_counter()
        for _ in range(20):
            g = Graph.open(out)
        result["open_s"] = (time.perf_counter() - t1) / 20
        adjacency = sum(v["bytes"] for k, v in g.manifest["arrays"].items() if k.startswith(("out_", "in_")))
        result["bytes_per_edge"] = adjacency / g.edge_count
        n = g.node_count
        nodes = np.random.default_rng(0).integers(0, n, LOOKUPS).tolist()
        t1 = time.perf_counter()
        for x in nodes:
            g.neighbours(x, "out")
        result["lookups_per_s"] = LOOKUPS / (time.perf_counter() - t1)
        result["edges"] = g.edge_count
        return result
    ids: dict[str, int] = {}
    rels: dict[str, int] = {}
    src, dst, rel = [], [], []
    for h, r, t in read_edges(tsv):
        src.append(ids.setdefault(h, len(ids)))
        dst.append(ids.setdefault(t, len(ids)))
        rel.append(rels.setdefault(r, len(rels)))
    if lib == "networkx":
        import networkx as nx

        g = nx.MultiDiGraph()
        g.add_edges_from((s, d, r) for s, d, r in zip(src, dst, rel))
        neighbours = lambda x: list(g.successors(x))  # noqa: E731
    elif lib == "igraph":
        import igraph as ig

        g = ig.Graph(n=len(ids), edges=list(zip(src, dst)), directed=True, edge_attrs={"rel": rel})
        neighbours = lambda x: g.successors(x)  # noqa: E731
    elif lib == "rustworkx":
        import rustworkx as rx

        g = rx.PyDiGraph(multigraph=True)
        g.add_nodes_from(range(len(ids)))
        g.add_edges_from(list(zip(src, dst, rel)))
        neighbours = lambda x: g.successor_indices(x)  # noqa: E731
    else:
        raise SystemExit(f"unknown library {lib}")
    del ids, rels, src, dst, rel
    result["build_s"] = time.perf_counter() - t0
    result["peak_rss"] = peak_rss() - base
    import gc

    gc.collect()
    rss_now = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    result["resident"] = rss_now
    nodes = np.random.default_rng(0).integers(0, len(g) if lib != "igraph" else g.vcount(), LOOKUPS).tolist()
    t1 = time.perf_counter()
    for x in nodes:
        neighbours(x)
    result["lookups_per_s"] = LOOKUPS / (time.perf_counter() - t1)
    return result


def run_worker(lib: str, tsv: Path, memory: str, workdir: Path) -> dict:
    # Baseline resident memory of an interpreter that imported the library, to subtract.
    cmd = [
        sys.executable,
        os.fspath(HERE),
        "--worker",
        lib,
        os.fspath(tsv),
        "--memory",
        memory,
        "--workdir",
        os.fspath(workdir),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def export_wordnet(workdir: Path) -> Path:
    from kale import Graph

    g = Graph.build(workdir / "wn.kg", wordnet="/usr/share/wordnet", progress=False, overwrite=True)
    tsv = workdir / "wordnet.tsv"
    with open(tsv, "w", encoding="utf-8") as f:
        for n in range(g.node_count):
            nb, rel, _ = g.neighbours(n, "out")
            head = g.id(n)
            for x, r in zip(nb.tolist(), rel.tolist()):
                f.write(f"{head}\t{g.relation_id(r)}\t{g.id(x)}\n")
    return tsv


def fmt_ratio(mine: float, other: float, higher_is_better: bool) -> str:
    if not mine or not other:
        return ""
    ratio = (mine / other) if higher_is_better else (other / mine)
    return f"({ratio:,.1f}x)"


def report(name: str, edges: int, results: dict[str, dict]) -> None:
    print(f"\n## {name}: {edges:,} edges   (ratios: how many times better kale is)")
    print(f"{'library':<10} {'load/build s':>18} {'peak MB':>16} {'bytes/edge':>18} {'open ms':>9} {'lookups/s':>22}")
    k = results.get("kale", {})
    for lib, r in results.items():
        if "error" in r:
            print(f"{lib:<10} failed: {r['error']}")
            continue
        bpe = r.get("bytes_per_edge") or (r.get("resident", 0) / edges)
        kbpe = k.get("bytes_per_edge", 0)
        cells = [
            f"{r['build_s']:8.2f} {fmt_ratio(k.get('build_s'), r['build_s'], False) if lib != 'kale' else '':>9}",
            f"{r['peak_rss'] / 2**20:7.0f} {fmt_ratio(k.get('peak_rss'), r['peak_rss'], False) if lib != 'kale' else '':>8}",
            f"{bpe:8.1f} {fmt_ratio(kbpe, bpe, False) if lib != 'kale' else '':>9}",
            f"{r['open_s'] * 1e3:9.2f}" if "open_s" in r else f"{'-':>9}",
            f"{r['lookups_per_s']:12,.0f} {fmt_ratio(k.get('lookups_per_s'), r['lookups_per_s'], True) if lib != 'kale' else '':>9}",
        ]
        print(f"{lib:<10} " + " ".join(cells))
    if k:
        print(
            f"kale build rate: {edges / k['build_s'] / 1e6:.2f} M edges/s; bytes/edge for others = resident memory after load / edges"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", nargs=2, metavar=("LIB", "TSV"), help=argparse.SUPPRESS)
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--memory", default="4G", help="kale's build memory budget")
    p.add_argument(
        "--generated", default="1000000:10000000", help="NODES:EDGES of the Wikidata-shaped graph ('' to skip)"
    )
    p.add_argument("--only", default=",".join(LIBS), help="comma-separated libraries")
    p.add_argument("--skip", default="", help="comma-separated graphs to skip: wordnet,codex,generated")
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], Path(args.worker[1]), args.memory, args.workdir)))
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kale-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    libs = [x for x in args.only.split(",") if x]
    graphs = []
    skip = set(args.skip.split(","))
    if "wordnet" not in skip and Path("/usr/share/wordnet/data.noun").is_file():
        graphs.append(("WordNet 3.0", export_wordnet(workdir)))
    if "codex" not in skip and (SHARED / "data/codex-m/triples.tsv").is_file():
        graphs.append(("CoDEx-M", SHARED / "data/codex-m/triples.tsv"))
    if "generated" not in skip and args.generated:
        nodes, edges = (int(x) for x in args.generated.split(":"))
        tsv = workdir / f"generated-{nodes}-{edges}.tsv"
        if not tsv.exists():
            from kale.graph import generate

            t = time.perf_counter()
            generate(tsv, nodes=nodes, edges=edges, seed=0)
            print(f"generated {tsv} in {time.perf_counter() - t:.0f} s")
        graphs.append((f"Wikidata-shaped {nodes:,} nodes", tsv))
    print(f"machine: {os.cpu_count()} cores; kale memory budget {args.memory}")
    for name, tsv in graphs:
        results = {lib: run_worker(lib, tsv, args.memory, workdir) for lib in libs}
        edges = results.get("kale", {}).get("edges") or sum(1 for _ in open(tsv, encoding="utf-8"))
        report(name, edges, results)


if __name__ == "__main__":
    main()
