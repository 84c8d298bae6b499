"""The OpenAI-compatible writer against a local server that misbehaves in every way a
probe found (null content, a JSON list, a body shorter than its Content-Length, a bad
status line, trickled or no answers, 429 with Retry-After): each row gets its text or
a reason, the run goes on, and every row is written exactly once across resumes."""

import json
import random
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kale.data.schema import Question
from kale.exceptions import KaleValueError
from kale.synth.openai_http import retry_after
from kale.synth.pipeline import SynthBatch, synthesise
from kale.synth.prompts import load_prompt
from kale.synth.store import read_all
from kale.synth.writers import OpenAIWriter

BAD = ["429", "500", "null", "list", "short", "status", "garbage", "trickle", "close", "silent"]


class Faulty(BaseHTTPRequestHandler):
    """Answers as the prompt asks ("behave: short"), or at random (`mix`: the share of bad answers)."""

    protocol_version = "HTTP/1.1"
    mix = 0.0
    rng = random.Random(0)
    lock = threading.Lock()
    log: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        prompt = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["messages"][0]["content"]
        asked = prompt.split("behave: ")[1].split()[0] if "behave: " in prompt else None
        with self.lock:
            how = asked or (self.rng.choice(BAD) if self.rng.random() < self.mix else "ok")
            self.log.append((time.monotonic(), how))
        reply = {
            "choices": [
                {"message": {"content": "Dogs bark, so the dog is the animal that barks."}, "finish_reason": "stop"}
            ]
        }
        if how in ("429", "500"):
            self.send_response(int(how))
            self.send_header("Retry-After", "0" if asked is None else "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif how == "status":
            self.wfile.write(b"HTTP/1.1 two hundred OK\r\n\r\n")
            self.close_connection = True
        elif how == "close":
            self.close_connection = True
        elif how == "silent":
            time.sleep(3)
            self.close_connection = True
        else:
            body = {
                "null": json.dumps({"choices": [{"message": {"content": None}, "finish_reason": "content_filter"}]}),
                "list": "[]",
                "garbage": "<html>busy</html>",
            }.get(how, json.dumps(reply)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + (50 if how == "short" else 0)))
            self.end_headers()
            if how == "trickle":  # 8 bytes every 0.25 s: each read is quick, the whole is not
                for i in range(0, len(body), 8):
                    self.wfile.write(body[i : i + 8])
                    self.wfile.flush()
                    time.sleep(0.25)
            else:
                self.wfile.write(body)
            if how == "short":
                self.close_connection = True


@pytest.fixture
def server():
    Faulty.mix, Faulty.rng, Faulty.log = 0.0, random.Random(0), []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Faulty)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from kale import Graph
    from kale.link import Linker

    d = tmp_path_factory.mktemp("tiny")
    (d / "t.tsv").write_text("dog\tis a\tanimal\ncat\tis a\tanimal\n", encoding="utf-8")
    (d / "labels.tsv").write_text("dog\tdog\ncat\tcat\nanimal\tanimal\n", encoding="utf-8")
    graph = Graph.build(d / "g.kg", triples=d / "t.tsv", labels=d / "labels.tsv", progress=False)
    return graph, Linker.build(graph)


def questions(n, behave=None):
    tail = f" behave: {behave} " if behave else ""
    return [
        Question(id=f"q{i}", question=f"Which animal barks, case {i}?{tail}", choices=["dog", "cat"], answer=0)
        for i in range(n)
    ]


def writer(url, **kw):
    return OpenAIWriter(url, "m", **{"concurrency": 8, "retries": 0, "backoff": 0.0, "timeout": 1.0, **kw})


@pytest.mark.parametrize(
    "how, reason",
    [
        ("null", "the server returned no text (content None, finish_reason 'content_filter')"),
        ("list", "gave up after 1 attempts (unexpected response: no choices in list [])"),
        ("short", "gave up after 1 attempts (IncompleteRead: "),
        ("status", "gave up after 1 attempts (BadStatusLine: "),
        ("garbage", "gave up after 1 attempts (unexpected response: not JSON (17 bytes))"),
        ("close", "gave up after 1 attempts (RemoteDisconnected: "),
        ("trickle", "gave up after 1 attempts (no complete answer within the 1 s request timeout)"),
        ("silent", "gave up after 1 attempts (no complete answer within the 1 s request timeout)"),
        ("500", "gave up after 1 attempts (HTTP 500)"),
    ],
)
def test_each_misbehaviour_is_a_row_failure_with_its_reason(server, how, reason):
    started = time.monotonic()
    [w] = writer(server).write([f"behave: {how} please"], [[]], ["dog"])
    assert w.text is None and w.error.startswith(reason), w.error
    assert time.monotonic() - started < 2.0, "the request timeout is a deadline for the whole request"


def test_retry_after_is_honoured(server):
    started = time.monotonic()
    [w] = writer(server, retries=1).write(["behave: 429 now"], [[]], ["dog"])
    assert w.error.startswith("gave up after 2 attempts (HTTP 429)")
    (first, _), (second, _) = Faulty.log
    assert second - first >= 0.95, "Retry-After: 1 was not waited for (backoff is 0)"
    assert time.monotonic() - started < 3
    assert retry_after("2.5") == 2.5 and retry_after("-4") == 0.0 and retry_after("soon") is None
    assert retry_after("1e9") == 300.0 and retry_after("nan") is None
    assert 0 < retry_after(time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))) <= 30


def test_a_faulty_server_loses_and_repeats_no_row_across_resumes(tiny, server, tmp_path):
    graph, linker = tiny
    Faulty.mix = 0.6
    qs, out = questions(40), tmp_path / "out"
    batch = SynthBatch(graph, linker, writer(server, retries=1, timeout=0.8), load_prompt())
    for run in range(30):
        s = synthesise(qs, out, batch, batch_size=7, progress=False, retry_failed=True)
        df = read_all(out)
        assert sorted(df["id"]) == sorted(q.id for q in qs), f"run {run}: every row exactly once"
        failed = df.filter(~df["ok"])
        assert all(
            f and all(r.startswith("writer: ") and len(r) > 12 for r in f) for f in failed["failures"].to_list()
        ), "each failure has a reason"
        if failed.is_empty():
            break
        assert s.writer_failed == len(failed)
    assert df["ok"].all(), "with --retry-failed the rows come through in the end"
    assert {how for _, how in Faulty.log} >= set(BAD) | {"ok"}, "every misbehaviour was met"
    again = synthesise(qs, out, batch, progress=False, retry_failed=True)
    assert again.written == 0 and again.requeued == 0


def test_retry_failed_requeues_writer_failures_only(tiny, server, tmp_path):
    graph, linker = tiny
    out = tmp_path / "out"
    down = SynthBatch(graph, linker, writer(f"http://127.0.0.1:{free_port()}/v1"), load_prompt())
    s = synthesise(questions(10), out, down, progress=False)
    assert s.writer_failed == 10 and "rerun with --retry-failed" in "\n".join(s.lines())
    healthy = SynthBatch(graph, linker, writer(server), load_prompt())
    assert synthesise(questions(10), out, healthy, progress=False).written == 0, (
        "without the flag, failed rows stay done"
    )
    s = synthesise(questions(10), out, healthy, progress=False, retry_failed=True)
    assert (s.requeued, s.written) == (10, 10)
    df = read_all(out)
    assert len(df) == 10 and df["id"].n_unique() == 10 and df["ok"].all()


def test_another_prompt_or_writer_is_refused(tiny, server, tmp_path):
    graph, linker = tiny
    out = tmp_path / "out"
    synthesise(questions(3), out, SynthBatch(graph, linker, writer(server), load_prompt()), progress=False)
    other_prompt = load_prompt(with_paths=False)  # the w/o KI ablation's prompt
    with pytest.raises(
        KaleValueError,
        match=r"holds rows by writer 'openai:m' with prompt \w+, and this run's are by 'openai:m' with prompt",
    ):
        synthesise(questions(5), out, SynthBatch(graph, linker, writer(server), other_prompt), progress=False)
    with pytest.raises(KaleValueError, match="another --out"):
        synthesise(
            questions(5),
            out,
            SynthBatch(graph, linker, OpenAIWriter(server, "other-model"), load_prompt()),
            progress=False,
        )
    assert len(read_all(out)) == 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"timeout": 0}, "--request-timeout must be a positive number of seconds, not 0"),
        ({"timeout": -1.0}, "--request-timeout must be a positive number of seconds, not -1.0"),
        ({"timeout": float("inf")}, "--request-timeout must be a positive number of seconds, not inf"),
        ({"retries": -1}, "--retries must be 0 or more, not -1"),
        ({"concurrency": 0}, "--concurrency must be at least 1, not 0"),
        ({"rate_limit": 0.0}, "--rate-limit must be a positive number of requests per second, not 0.0"),
    ],
)
def test_bad_settings_are_refused_at_startup(bad, message):
    with pytest.raises(KaleValueError, match=f"^{message}$".replace(".", r"\.")):
        OpenAIWriter("http://127.0.0.1:9/v1", "m", **bad)


@pytest.mark.parametrize(
    "flag, value",
    [("--request-timeout", "0"), ("--request-timeout", "-1"), ("--retries", "-1"), ("--concurrency", "0")],
)
def test_bad_settings_are_one_line_from_the_cli(tiny, tmp_path, flag, value):
    data = tmp_path / "q.jsonl"
    data.write_text(
        json.dumps({"id": "a", "question": "Which animal barks?", "choices": ["dog", "cat"], "answer": 0}) + "\n"
    )
    cmd = [
        sys.executable,
        "-m",
        "kale",
        "synth",
        "--graph",
        str(tiny[0].path),
        "--data",
        str(data),
        "--out",
        str(tmp_path / "out"),
        "--writer",
        "openai",
        "--endpoint",
        "http://127.0.0.1:9/v1",
        flag,
        value,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"Error: {flag} must be")
    assert not (tmp_path / "out").exists()


def test_retry_failed_from_the_cli(tiny, server, tmp_path):
    data = tmp_path / "q.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"c{i}", "question": f"Which animal barks, {i}?", "choices": ["dog", "cat"], "answer": 0})
            + "\n"
            for i in range(4)
        )
    )
    out = tmp_path / "out"

    def synth(endpoint, *more):
        cmd = [
            sys.executable,
            "-m",
            "kale",
            "synth",
            "--graph",
            str(tiny[0].path),
            "--data",
            str(data),
            "--out",
            str(out),
            "--writer",
            "openai",
            "--endpoint",
            endpoint,
            "--model",
            "m",
            "--retries",
            "0",
            "--request-timeout",
            "2",
            *more,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    done = synth(f"http://127.0.0.1:{free_port()}/v1")
    assert done.returncode == 0 and "4 rows failed in the writer" in done.stdout, done.stdout + done.stderr
    done = synth(server, "--retry-failed")
    assert done.returncode == 0 and "4 rows whose writer had failed were written again" in done.stdout, (
        done.stdout + done.stderr
    )
    df = read_all(out)
    assert sorted(df["id"]) == [f"c{i}" for i in range(4)] and df["ok"].all()
    done = synth(server, "--no-paths")
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1].startswith(
        f"Error: {out} holds rows by writer 'openai:m' with prompt"
    )
