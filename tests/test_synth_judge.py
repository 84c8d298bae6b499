"""kale synth --judge: a model answers each question after reading its rationale, scored as
kale eval scores multiple choice; a wrong pick fails the row's check, and the row is kept."""

import json

import pytest
from click.testing import CliRunner

from kale.cli import main
from kale.synth.judge import WRONG
from kale.synth.store import read_all


@pytest.fixture
def judged(wordnet_graph, tiny_model_dir, tmp_path):
    data = tmp_path / "q.jsonl"
    # the gold answer alternates, so a judge that prefers one word is right on some rows and wrong on others
    data.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"j{i}",
                    "question": f"Where does the dog sleep {i}?",
                    "choices": ["bed", "tree", "dog"],
                    "answer": i % 3,
                }
            )
            + "\n"
            for i in range(9)
        )
    )
    out = tmp_path / "out"
    r = CliRunner().invoke(
        main,
        [
            "synth",
            "--graph",
            str(wordnet_graph.path),
            "--data",
            str(data),
            "--out",
            str(out),
            "--judge",
            str(tiny_model_dir),
            "--batch-size",
            "4",
        ],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    return read_all(out).sort("id"), r.output


def test_judge_records_its_choice_and_fails_wrong_rows(judged):
    df, output = judged
    assert len(df) == 9, "rows the judge rejects are kept"
    assert df["judge_choice"].null_count() == 0
    for row in df.iter_rows(named=True):
        assert row["judge_correct"] == (row["judge_choice"] == row["answer"])
        assert (WRONG in row["failures"]) == (not row["judge_correct"])
        assert row["ok"] == (not row["failures"])
    assert 0 < df["judge_correct"].sum() < 9, "both outcomes occur"
    assert f"× {WRONG}" in output


def test_judge_choice_is_the_eval_scorers_argmax(judged, tiny_model_dir):
    """The flat scorer (one forward per choice, no shared context) picks what the judge picked."""
    from kale.data.schema import Question
    from kale.eval.models import load_model
    from kale.eval.scoring import pick, score_continuations
    from kale.synth.judge import judge_prompt

    df, _ = judged
    model, tok = load_model(tiny_model_dir)
    for row in df.iter_rows(named=True):
        q = Question(id=row["id"], question=row["question"], choices=row["choices"], answer=row["answer"])
        p = judge_prompt(q, row["rationale"])
        scores = score_continuations(model, tok, [(p.context, c) for c in p.continuations])
        assert row["judge_choice"] == pick([s.logprob for s in scores])


def test_unknown_judge_model_is_one_line(wordnet_graph, tmp_path):
    data = tmp_path / "q.jsonl"
    data.write_text(
        json.dumps({"id": "a", "question": "Where do dogs sleep?", "choices": ["bed", "tree"], "answer": 0}) + "\n"
    )
    r = CliRunner().invoke(
        main,
        [
            "synth",
            "--graph",
            str(wordnet_graph.path),
            "--data",
            str(data),
            "--out",
            str(tmp_path / "o"),
            "--judge",
            str(tmp_path / "nope"),
        ],
    )
    assert r.exit_code == 1 and "no such file or folder" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()
