"""Synthesis benchmark: linking + path search for all 9,741 CommonsenseQA training
questions against WordNet (target < 30 s on 2 cores), with coverage; rationales per
second for the template writer, the local transformers writer (SmolLM2 on CPU) and the
HTTP writer against a local OpenAI-compatible server.

    python benches/bench_synth.py [--limit N] [--method astar] [--max-hops 3] [--skip-llm]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
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


class Echo(BaseHTTPRequestHandler):
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
    args = p.parse_args()
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
    print(f"CommonsenseQA train: {len(questions):,} questions, WordNet, {args.method}, max_hops {args.max_hops}, {args.threads} threads")
    print(f"  alias index built in {t_index:.2f} s")
    print(f"  linking + paths: {t_kg:.1f} s ({len(questions) / t_kg:,.0f} questions/s; target: all 9,741 in < 30 s)")
    print(f"  entities on both sides: {both / len(questions):.1%}; at least one path: {with_paths / len(questions):.1%}")
    print(f"  path lengths: {dict(sorted(hops.items()))}")
    prompt = load_prompt()
    sample = questions[:16]
    facts = [k.verbalised for k in knowledge[:16]]
    prompts = [prompt.render(q.question, q.choices, q.gold, f) for q, f in zip(sample, facts)]
    answers = [q.gold for q in sample]
    writers = [("template", TemplateWriter())]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    writers.append((f"HTTP, local server with {Echo.delay * 1e3:.0f} ms latency, 8 in flight", OpenAIWriter(f"http://127.0.0.1:{httpd.server_address[1]}/v1", "m", concurrency=8)))
    if not args.skip_llm:
        writers.append(("transformers SmolLM2-135M-Instruct, CPU, 96 new tokens", TransformersWriter(max_new_tokens=96, batch_size=8)))
    for name, w in writers:
        reps = 20 if name == "template" or name.startswith("HTTP") else 1
        t0 = time.perf_counter()
        for _ in range(reps):
            w.write(prompts, facts, answers)
        dt = time.perf_counter() - t0
        print(f"  writer {name}: {reps * len(prompts) / dt:,.1f} rationales/s")
    httpd.shutdown()


if __name__ == "__main__":
    main()
