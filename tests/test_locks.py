"""One writer per output: synth --out (per shard), train --output-dir and kg build OUT are
locked while a run writes them, a second run stops at once naming the first one's PID,
and the leftovers of killed runs are removed by the next one."""

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from kale import Graph
from kale.cli import main
from kale.exceptions import FolderInUseError
from kale.locks import lock
from kale.synth.pipeline import SynthBatch, synthesise
from kale.synth.prompts import load_prompt
from kale.synth.store import read_all
from kale.synth.writers import TemplateWriter

HOLD = "import sys; from pathlib import Path; from kale.locks import lock; l = lock(Path(sys.argv[1]), 'it', sys.argv[2]); print('held', flush=True); sys.stdin.read()"


class Holder:
    """Another process holding a lock file as a kale command would."""

    def __init__(self, path, command="kale test"):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(path), command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "held"
        self.pid = self.proc.pid

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture(scope="module")
def triples(tmp_path_factory):
    d = tmp_path_factory.mktemp("src")
    (d / "t.tsv").write_text("dog\tis a\tanimal\ncat\tis a\tanimal\n", encoding="utf-8")
    (d / "labels.tsv").write_text("dog\tdog\ncat\tcat\nanimal\tanimal\n", encoding="utf-8")
    return d


def test_lock_names_the_holder_and_dies_with_it(tmp_path):
    path = tmp_path / "out" / ".x.lock"
    holder = Holder(path, "kale synth")
    with pytest.raises(
        FolderInUseError, match=rf"^rationales/ is in use by PID {holder.pid} \(kale synth\); wait for it to finish"
    ):
        lock(path, "rationales/", "kale synth")
    holder.kill()  # as kill -9 would: the kernel drops the lock, the file stays
    with lock(path, "rationales/", "kale synth"):
        with pytest.raises(FolderInUseError, match=f"in use by PID {os.getpid()}"):
            lock(path, "rationales/", "kale synth")  # a second open in the same process conflicts too
    assert not path.exists(), "a released lock leaves no file"


def test_kg_build_is_locked_and_removes_dead_builds_partials(tmp_path, triples):
    out = tmp_path / "g.kg"
    holder = Holder(tmp_path / ".g.kg.lock", "kale kg build")
    with pytest.raises(FolderInUseError, match=f"g.kg is in use by PID {holder.pid}"):
        Graph.build(out, triples=triples / "t.tsv", progress=False)
    r = CliRunner().invoke(
        main, ["kg", "build", str(out), "--triples", str(triples / "t.tsv"), "-q"], catch_exceptions=False
    )
    assert (
        r.exit_code == 1
        and r.output.strip()
        == f"Error: {out} is in use by PID {holder.pid} (kale kg build); wait for it to finish, or write elsewhere"
    )
    dead = tmp_path / f".g.kg.partial-{dead_pid()}"
    (dead / "sort").mkdir(parents=True)
    (dead / "sort" / "run-0").write_bytes(b"x" * 1000)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    running = tmp_path / f".g.kg.partial-{sleeper.pid}"  # its process is alive: not ours to remove
    running.mkdir()
    other = tmp_path / f".h.kg.partial-{dead_pid()}"  # another graph's
    other.mkdir()
    holder.kill()
    assert Graph.build(out, triples=triples / "t.tsv", progress=False).edge_count == 2
    sleeper.kill()
    sleeper.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([other.name, running.name, "g.kg"])


def test_overwrite_of_a_plain_file_leaves_no_old_copy(tmp_path, triples):
    (tmp_path / "g.kg").write_text("not a graph")
    Graph.build(tmp_path / "g.kg", triples=triples / "t.tsv", progress=False, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.kg"]


def test_synth_shard_is_locked_and_removes_dead_tmp_parts(tmp_path, triples):
    from kale.data.schema import Question
    from kale.link import Linker

    graph = Graph.build(tmp_path / "g.kg", triples=triples / "t.tsv", labels=triples / "labels.tsv", progress=False)
    batch = SynthBatch(graph, Linker.build(graph), TemplateWriter(), load_prompt())
    qs = [
        Question(id=f"q{i}", question=f"Which animal barks, {i}?", choices=["dog", "cat"], answer=0) for i in range(6)
    ]
    out = tmp_path / "out"
    holder = Holder(out / ".synth-000of001.lock", "kale synth")
    with pytest.raises(
        FolderInUseError, match=rf"--out {out} \(shard 0/1\) is in use by PID {holder.pid} \(kale synth\)"
    ):
        synthesise(qs, out, batch, progress=False)
    assert synthesise(qs, out, batch, shard="1/2", progress=False).written == 3, "another shard may write beside it"
    holder.kill()
    stale = out / f".part-000of001-00003.parquet.tmp-{dead_pid()}"
    other = out / f".part-001of002-00009.parquet.tmp-{dead_pid()}"  # another shard's: left to it
    stale.write_bytes(b"half a part")
    other.write_bytes(b"half a part")
    assert synthesise(qs, out, batch, progress=False).written == 3
    assert not stale.exists() and other.exists()
    assert sorted(read_all(out)["id"]) == [f"q{i}" for i in range(6)]
    assert not list(out.glob("*.lock"))


class Slow(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(0.3)
        body = json.dumps({"choices": [{"message": {"content": "Dogs bark, so it is the dog."}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_two_synth_commands_into_one_out(tmp_path, triples):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    graph = Graph.build(tmp_path / "g.kg", triples=triples / "t.tsv", labels=triples / "labels.tsv", progress=False)
    data = tmp_path / "q.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"k{i}", "question": f"Which animal barks, {i}?", "choices": ["dog", "cat"], "answer": 0})
            + "\n"
            for i in range(12)
        )
    )
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "kale",
        "synth",
        "--graph",
        str(graph.path),
        "--data",
        str(data),
        "--out",
        str(out),
        "--writer",
        "openai",
        "--endpoint",
        f"http://127.0.0.1:{httpd.server_address[1]}/v1",
        "--model",
        "m",
        "--concurrency",
        "1",
        "--batch-size",
        "2",
    ]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out / ".synth-000of001.lock").exists() and time.time() < deadline:
        time.sleep(0.02)
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert (
        second.stderr.strip().splitlines()[-1]
        == f"Error: --out {out} (shard 0/1) is in use by PID {first.pid} (kale synth); wait for it to finish, or write elsewhere"
    )
    assert first.wait(timeout=120) == 0, first.stderr.read()
    httpd.shutdown()
    df = read_all(out)
    assert sorted(df["id"]) == sorted(f"k{i}" for i in range(12)), "no row lost or repeated"


def test_train_output_dir_is_locked(tmp_path):
    pytest.importorskip("torch")
    from kale.train.config import TrainConfig
    from kale.train.errors import KaleTrainError
    from kale.train.trainer import train

    out = tmp_path / "run"
    holder = Holder(out / ".kale-train.lock", "kale train")
    cfg = TrainConfig(data=str(tmp_path / "r.parquet"), model=str(tmp_path / "m"), output_dir=str(out))
    with pytest.raises(KaleTrainError, match=rf"--output-dir {out} is in use by PID {holder.pid} \(kale train\)"):
        train(cfg)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kale",
            "train",
            "--data",
            str(tmp_path / "r.parquet"),
            "--model",
            str(tmp_path / "m"),
            "--output-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .endswith(
            f"--output-dir {out} is in use by PID {holder.pid} (kale train); wait for it to finish, or write elsewhere"
        )
    )
    holder.kill()
