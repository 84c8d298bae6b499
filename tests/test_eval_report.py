"""`kale eval` end to end on a tiny saved model, and `kale report` rendering runs side by side."""

import json

import pytest
from click.testing import CliRunner

from kale.eval.cli import eval_command, report_command
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
        benches[name] = {"mode": "choice", "n": 100, "shots": 0, "primary": "acc",
                         "metrics": {"acc": {"value": value, "ci95": [value - 0.05, value + 0.05], "n": 100}},
                         "questions": []}
        if known is not None:
            benches[name]["known"] = {"counts": {"known&correct": 40, "known&incorrect": 10, "unknown&correct": 20,
                                                 "unknown&incorrect": 30, "no_facts": 0}, "n_checked": 100,
                                      "known_incorrect_rate": {"value": known, "ci95": [known - 0.1, known + 0.1],
                                                               "n": 50}}
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
    result = runner.invoke(eval_command, ["--model", str(tiny_model_dir), "--bench", str(data), "--out",
                                          str(tmp_path / "run1"), "--shots", "1", "--batch-size", "4",
                                          "--facts", str(facts), "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "run1" / "results.json").read_text())
    bench = doc["benchmarks"][str(data)]
    assert bench["n"] == 6 and set(bench["metrics"]) == {"acc", "acc_norm", "acc_per_token"}
    assert len(bench["questions"]) == 6 and "known" in bench and "category" in bench["questions"][0]
    result = runner.invoke(eval_command, ["--model", str(tiny_model_dir), "--bench", str(data), "--out",
                                          str(tmp_path / "run2"), "--mode", "lettered", "--limit", "3",
                                          "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(report_command, [str(tmp_path / "run1"), str(tmp_path / "run2" / "results.json"),
                                            "--out", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rep" / "report.html").is_file() and (tmp_path / "rep" / "known_incorrect.png").is_file()


def test_bad_model_bench_and_run_give_clear_errors(tiny_model_dir, tmp_path):
    runner = CliRunner()
    r = runner.invoke(eval_command, ["--model", str(tmp_path / "nope"), "--bench", "csqa", "--out", str(tmp_path)])
    assert r.exit_code != 0 and "no such file or folder; accepted:" in r.output and "smollm2-135m-instruct" in r.output
    r = runner.invoke(eval_command, ["--model", str(tiny_model_dir), "--bench", "csqa,commonsense", "--out",
                                     str(tmp_path)])
    assert r.exit_code != 0 and "unknown benchmark 'commonsense'; accepted: absr, csqa" in r.output
    r = runner.invoke(eval_command, ["--model", str(tiny_model_dir), "--bench", "race_h", "--out", str(tmp_path / "x"),
                                     "--data", "race_h"])
    assert r.exit_code != 0 and "NAME=PATH" in r.output
    r = runner.invoke(report_command, [str(tmp_path), "--out", str(tmp_path / "rep")])
    assert r.exit_code != 0 and "results.json" in r.output
