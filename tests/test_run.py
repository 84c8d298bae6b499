"""`kale run`: the whole job on a tiny model and a handmade dataset, then resumed."""

import json
import subprocess
import sys

import pytest

from kale.cli.run import load_config
from kale.exceptions import KaleValueError


def test_config_merging_and_errors(tmp_path):
    cfg = load_config(None, ("synth.limit=5", "arms=[sft, ka]"))
    assert cfg["synth"]["limit"] == 5 and cfg["arms"] == ["sft", "ka"] and cfg["synth"]["writer"] == "transformers"
    with pytest.raises(KaleValueError, match="unknown config key 'synth.nope'"):
        load_config(None, ("synth.nope=1",))
    with pytest.raises(KaleValueError, match="unknown arm"):
        load_config(None, ("arms=[magic]",))
    (tmp_path / "c.yaml").write_text("train:\n  learning_rate: 0.001\n")
    assert load_config(tmp_path / "c.yaml", ())["train"]["learning_rate"] == 0.001


def test_whole_job_runs_and_resumes(wordnet_graph, tiny_model_dir, tmp_path):
    # Real CommonsenseQA slices: training questions for synthesis, validation questions
    # for evaluation and for the known&incorrect probe's facts.
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "kale",
        "run",
        "--set",
        f"out={out}",
        "--set",
        f"graph.path={wordnet_graph.path}",
        "--set",
        "data=csqa",
        "--set",
        f"model={tiny_model_dir}",
        "--set",
        "synth.writer=template",
        "--set",
        "synth.limit=6",
        "--set",
        "train.max_steps=2",
        "--set",
        "train.micro_batch_size=2",
        "--set",
        "eval.bench=csqa",
        "--set",
        "eval.limit=24",
        "--set",
        "arms=[sft,ka]",
    ]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    for arm in ("base", "sft", "ka"):
        results = json.loads((out / "eval" / arm / "results.json").read_text())
        known = results["benchmarks"]["csqa"]["known"]  # the known&incorrect probe ran on every arm
        assert known["n_checked"] > 0 and "known_incorrect_rate" in known
    assert (out / "report" / "report.html").is_file()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert again.stdout.count("done already") == 7  # synth, facts, 3 evals, 2 trainings
