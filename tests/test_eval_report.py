"""`kale eval` end to end on a tiny saved model, and `kale report` rendering runs side by side."""

import json

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from kale.cli.eval import eval_command, report_command
from kale.eval.report import write_report


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    from test_eval_scoring import make_model, make_tokenizer

    tok = make_tokenizer()
    folder = tmp_path_factory.mktemp("tiny-llama")
    make_model(len(tok)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def quiz(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "quiz.jsonl"
    rows = [{"id": f"q{i}", "question": f"Is {i} even?", "choices": ["yes", "no"], "answer": i % 2} for i in range(6)]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    facts = path.with_name("facts.json")
    facts.write_text(json.dumps({f"q{i}": [[str(i), "has_parity", ["even", "odd"][i % 2]]] for i in range(6)}))
    return path, facts


def _doc(run, accs, known=None):
    benches = {}
    for name, value in accs.items():
        benches[name] = {
            "mode": "choice",
            "n": 100,
            "shots": 0,
            "primary": "acc",
            "metrics": {"acc": {"value": value, "ci95": [value - 0.05, value + 0.05], "n": 100}},
            "questions": [],
        }
        if known is not None:
            benches[name]["known"] = {
                "counts": {
                    "known&correct": 40,
                    "known&incorrect": 10,
                    "unknown&correct": 20,
                    "unknown&incorrect": 30,
                    "no_facts": 0,
                },
                "n_checked": 100,
                "known_incorrect_rate": {"value": known, "ci95": [known - 0.1, known + 0.1], "n": 50},
            }
    return {"run": run, "model": "m", "created": "now", "benchmarks": benches}


def test_report_renders_tables_and_plots(tmp_path):
    runs = []
    for run, accs, known in [("base", {"csqa": 0.4, "absr": 0.3}, 0.3), ("kale", {"csqa": 0.5, "mmlu": 0.35}, 0.1)]:
        (tmp_path / run).mkdir()
        (tmp_path / run / "results.json").write_text(json.dumps(_doc(run, accs, known)))
        runs.append(tmp_path / run)
    files = write_report(runs, tmp_path / "report")
    md = files["report.md"].read_text()
    assert "| run | AbsR | CSQA | MMLU | mean |" in md  # the paper's column order
    assert "| base | 30.00 [25.0, 35.0] | 40.00 [35.0, 45.0] | – | 35.00 (partial) |" in md
    assert "known&incorrect rate" in md
    for name in ("accuracy.png", "known_incorrect.png"):
        assert files[name].read_bytes()[:4] == b"\x89PNG"
    assert "data:image/png;base64," in files["report.html"].read_text()


def test_eval_cli_then_report_cli(tiny_model_dir, quiz, tmp_path):
    data, facts = quiz
    runner = CliRunner()
    result = runner.invoke(
        eval_command,
        [
            "--model",
            str(tiny_model_dir),
            "--bench",
            str(data),
            "--out",
            str(tmp_path / "run1"),
            "--shots",
            "1",
            "--batch-size",
            "4",
            "--facts",
            str(facts),
            "--bootstrap",
            "50",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "run1" / "results.json").read_text())
    bench = doc["benchmarks"][str(data)]
    assert bench["n"] == 6 and set(bench["metrics"]) == {"acc", "acc_norm", "acc_per_token"}
    assert len(bench["questions"]) == 6 and "known" in bench and "category" in bench["questions"][0]
    result = runner.invoke(
        eval_command,
        [
            "--model",
            str(tiny_model_dir),
            "--bench",
            str(data),
            "--out",
            str(tmp_path / "run2"),
            "--mode",
            "lettered",
            "--limit",
            "3",
            "--bootstrap",
            "50",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        report_command,
        [str(tmp_path / "run1"), str(tmp_path / "run2" / "results.json"), "--out", str(tmp_path / "rep")],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rep" / "report.html").is_file() and (tmp_path / "rep" / "known_incorrect.png").is_file()


def test_bad_model_bench_and_run_give_clear_errors(tiny_model_dir, tmp_path):
    runner = CliRunner()
    r = runner.invoke(eval_command, ["--model", str(tmp_path / "nope"), "--bench", "csqa", "--out", str(tmp_path)])
    assert r.exit_code != 0 and "no such file or folder; accepted:" in r.output and "smollm2-135m-instruct" in r.output
    r = runner.invoke(
        eval_command, ["--model", str(tiny_model_dir), "--bench", "csqa,commonsense", "--out", str(tmp_path)]
    )
    assert r.exit_code != 0 and "unknown benchmark 'commonsense'; accepted: absr, csqa" in r.output
    r = runner.invoke(
        eval_command,
        ["--model", str(tiny_model_dir), "--bench", "race_h", "--out", str(tmp_path / "x"), "--data", "race_h"],
    )
    assert r.exit_code != 0 and "NAME=PATH" in r.output
    r = runner.invoke(report_command, [str(tmp_path), "--out", str(tmp_path / "rep")])
    assert r.exit_code != 0 and "results.json" in r.output


def _with_questions(run: str, correct: dict[str, bool]) -> dict:
    doc = _doc(run, {"csqa": sum(correct.values()) / len(correct)})
    doc["benchmarks"]["csqa"]["questions"] = [{"id": i, "correct": c} for i, c in correct.items()]
    return doc


def test_report_pairs_runs_by_question_id(tmp_path):
    import random

    from kale.eval.stats import paired_difference

    rng = random.Random(3)
    base = {f"q{i}": rng.random() < 0.3 for i in range(120)}
    trained = {f"q{i}": rng.random() < 0.45 for i in range(20, 140)}  # 100 questions in common
    other = {f"z{i}": True for i in range(10)}  # evaluated on different questions altogether
    for run, correct in (("base", base), ("ka", trained), ("elsewhere", other)):
        (tmp_path / run).mkdir()
        (tmp_path / run / "results.json").write_text(json.dumps(_with_questions(run, correct)))
    md = write_report([tmp_path / r for r in ("base", "ka", "elsewhere")], tmp_path / "rep")["report.md"].read_text()
    common = [i for i in base if i in trained]
    d = paired_difference([base[i] for i in common], [trained[i] for i in common])
    assert f"| ka | {100 * d['diff']:+.2f} [" in md and "(n=100 common)" in md
    assert "| elsewhere | no common questions |" in md


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=300))
def test_paired_difference_against_scipy(pairs):
    scipy_stats = pytest.importorskip("scipy.stats")
    from kale.eval.stats import paired_difference

    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    d = paired_difference(a, b, n_resamples=200)
    a_only = sum(x and not y for x, y in pairs)
    b_only = sum(y and not x for x, y in pairs)
    assert (d["a_only"], d["b_only"]) == (a_only, b_only)
    assert d["diff"] == pytest.approx((sum(b) - sum(a)) / len(pairs))
    expect = 1.0 if a_only + b_only == 0 else scipy_stats.binomtest(a_only, a_only + b_only, 0.5).pvalue
    assert d["mcnemar_p"] == pytest.approx(expect, rel=1e-9, abs=1e-12)
    assert d["ci95"][0] <= d["diff"] <= d["ci95"][1]
