"""Synthesis benchmark: linking + path search for all 9,741 CommonsenseQA training
questions against WordNet (target < 30 s on 2 cores), with coverage; then rationales per
second, side by side, for the template writer, the local transformers writer (SmolLM2 on
CPU) and the HTTP writer against a stub OpenAI-compatible server.

The stub runs in its own process and answers every request after a fixed delay, so the
HTTP numbers measure kale's client (its concurrency and overhead), not a model: the
ceiling is requests-in-flight / delay.

    python benches/bench_synth.py [--limit N] [--method astar] [--max-hops 3] [--skip-llm] [--stub-delay 0.02]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from kale import Graph
from kale.data.registry import load_benchmark
from kale.link import Linker
from kale.synth.knowledge import PathSettings, gather
from kale.synth.prompts import load_prompt
from kale.synth.writers import OpenAIWriter, TemplateWriter, TransformersWriter


class Stub(BaseHTTPRequestHandler):
    """Every POST: wait `delay` seconds, then one fixed chat completion."""

    delay = 0.02

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.delay)
        reply = json.dumps({"choices": [{"message": {"content": "A rationale from the server."}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--method", default="astar")
    p.add_argument("--max-hops", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-llm", action="store_true")
    p.add_argument("--stub-delay", type=float, default=0.02, help="seconds the stub server waits before answering")
    p.add_argument("--serve-stub", type=float, default=None, help=argparse.SUPPRESS)  # the stub server's own process
    args = p.parse_args()
    if args.serve_stub is not None:
        return serve_stub(args.serve_stub)
    workdir = Path(tempfile.mkdtemp(prefix="kale-synth-bench-"))
    graph = Graph.build(workdir / "wn.kg", wordnet="/usr/share/wordnet", progress=False)
    questions = load_benchmark("csqa", split="train", limit=args.limit)
    t0 = time.perf_counter()
    linker = Linker.build(graph)
    t_index = time.perf_counter() - t0
    settings = PathSettings(method=args.method, max_hops=args.max_hops)
    t0 = time.perf_counter()
    knowledge = []
    for start in range(0, len(questions), 256):
        knowledge += gather(graph, linker, questions[start : start + 256], settings, threads=args.threads)
    t_kg = time.perf_counter() - t0
    both = sum(bool(k.q_entities and k.a_entities) for k in knowledge)
    with_paths = sum(bool(k.paths) for k in knowledge)
    hops = Counter(p.hops for k in knowledge for p in k.paths)
    print(
        f"CommonsenseQA train: {len(questions):,} questions, WordNet, {args.method}, max_hops {args.max_hops}, {args.threads} threads"
    )
    print(f"  alias index built in {t_index:.2f} s")
    print(f"  linking + paths: {t_kg:.1f} s ({len(questions) / t_kg:,.0f} questions/s; target: all 9,741 in < 30 s)")
    print(
        f"  entities on both sides: {both / len(questions):.1%}; at least one path: {with_paths / len(questions):.1%}"
    )
    print(f"  path lengths: {dict(sorted(hops.items()))}")
    writer_table(questions, knowledge, args)


class StubServer(ThreadingHTTPServer):
    request_queue_size = (
        256  # the default backlog of 5 drops connections at 32 in flight, which then wait a 1 s SYN retry
    )
    daemon_threads = True


def serve_stub(delay: float) -> None:
    Stub.delay = delay
    httpd = StubServer(("127.0.0.1", 0), Stub)
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


def rate(writer, prompts, facts, answers, reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        writer.write(prompts, facts, answers)
    return reps * len(prompts) / (time.perf_counter() - t0)


def writer_table(questions, knowledge, args) -> None:
    prompt = load_prompt()
    n = min(64, len(questions))  # enough prompts to keep 32 requests in flight twice over
    facts = [k.verbalised for k in knowledge[:n]]
    prompts = [prompt.render(q.question, q.choices, q.gold, f) for q, f in zip(questions[:n], facts)]
    answers = [q.gold for q in questions[:n]]
    rows = [("template (no model)", rate(TemplateWriter(), prompts, facts, answers, 20), "")]
    # the stub in a process of its own, so serving it does not share this one's GIL
    stub = subprocess.Popen(
        [sys.executable, __file__, "--serve-stub", str(args.stub_delay)], stdout=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{int(stub.stdout.readline())}/v1"
        for inflight in (1, 8, 32):
            w = OpenAIWriter(url, "stub", concurrency=inflight)
            rows.append(
                (
                    f"HTTP client, stub server {args.stub_delay * 1e3:.0f} ms/request, {inflight} in flight",
                    rate(w, prompts, facts, answers, 3),
                    f"ceiling {inflight / args.stub_delay:,.0f}/s",
                )
            )
    finally:
        stub.terminate()
        stub.wait()
    if not args.skip_llm:
        w = TransformersWriter(max_new_tokens=96, batch_size=8)
        rows.append(
            (
                "transformers SmolLM2-135M-Instruct, CPU, 96 new tokens, batch 8",
                rate(w, prompts[:16], facts[:16], answers[:16], 1),
                "",
            )
        )
    width = max(len(r[0]) for r in rows)
    print(f"\n  {'writer':<{width}}  {'rationales/s':>12}")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>12,.{0 if value >= 100 else 2}f}  {note}")
    print("  (the HTTP rows time kale's client against a stub that answers after a fixed delay, not a model)")


if __name__ == "__main__":
    main()
