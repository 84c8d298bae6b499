"""The known&incorrect probe: categories on constructed scores, distractors, fact inputs."""

import json

import polars as pl
import pytest

from kale.eval.known import (
    category,
    check_facts,
    corrupt_tails,
    fact_is_known,
    load_fact_paths,
    load_facts,
    normalise_facts,
    normalise_paths,
    probe_benchmark,
    question_is_known,
    summarise,
)
from kale.exceptions import InputError

FACTS = {
    "q1": [("the Sun", "emits", "light"), ("light", "integrates_into", "white light")],
    "q2": [("Paris", "capital_of", "France")],
    "q3": [("Rome", "capital_of", "Italy")],
    "q4": [("water", "boils_at", "100 degrees")],
}


def test_fact_and_question_known_from_constructed_scores():
    assert fact_is_known(-1.0, [-2.0, -3.0])
    assert not fact_is_known(-2.0, [-2.0, -3.0])  # a tie is not knowledge
    assert not fact_is_known(-1.0, [])
    assert question_is_known([[True, True]]) is True
    assert question_is_known([[True, False]]) is False
    assert question_is_known([[True, False]], min_fraction=0.5) is True
    assert question_is_known([[True, False], [True, True]]) is True  # one verified chain is enough
    assert question_is_known([]) is None and question_is_known([[]]) is None


def test_categories_and_rate():
    correct = {"a": True, "b": False, "c": False, "d": True, "e": False, "f": True}
    known = {"a": True, "b": True, "c": True, "d": False, "e": False}  # f has no facts
    s = summarise(correct, known, n_resamples=200)
    assert s["counts"] == {
        "known&correct": 1,
        "known&incorrect": 2,
        "unknown&correct": 1,
        "unknown&incorrect": 1,
        "no_facts": 1,
    }
    assert s["known_incorrect_rate"]["value"] == pytest.approx(2 / 3) and s["known_incorrect_rate"]["n"] == 3
    assert s["shares"] == pytest.approx({"known&correct": 0.2, "known&incorrect": 0.4, "unknown": 0.4})
    assert category(False, None) == "no_facts"


def test_distractors_come_from_other_questions_and_are_never_true():
    facts = dict(FACTS, q5=[("Paris", "capital_of", "Italy")])  # makes "Italy" true for (Paris, capital_of)
    d = corrupt_tails(facts, n_distractors=3, seed=1)
    assert d == corrupt_tails(facts, n_distractors=3, seed=1)
    assert "France" not in d[("q2", 0)] and "Italy" not in d[("q2", 0)]
    own = {t for _, _, t in facts["q1"]}
    for (qid, j), tails in d.items():
        assert facts[qid][j][2] not in tails and len(tails) == len(set(tails))
        if qid == "q1":
            assert not own & set(tails)


def test_fact_inputs_dict_parquet_json_and_paths(tmp_path):
    paths = [[{"head": "a", "relation": "r", "tail": "b"}, {"head": "b", "relation": "s", "tail": "c"}]]
    assert normalise_facts(paths) == [("a", "r", "b"), ("b", "s", "c")]
    assert normalise_facts([["a", "r", "b"], ["a", "r", "b"]]) == [("a", "r", "b")]
    frame = pl.DataFrame({"id": ["q1", "q2"], "facts": [paths[0], [{"head": "x", "relation": "y", "tail": "z"}]]})
    frame.write_parquet(tmp_path / "f.parquet")
    assert load_facts(tmp_path / "f.parquet")["q1"] == [("a", "r", "b"), ("b", "s", "c")]
    (tmp_path / "f.json").write_text(json.dumps({"q9": [["h", "r", "t"]]}))
    assert load_facts(tmp_path / "f.json") == {"q9": [("h", "r", "t")]}
    with pytest.raises(InputError, match="needs columns 'id' and 'paths'"):
        load_facts(frame, facts_column="paths")
    with pytest.raises(InputError, match="not a \\(head, relation, tail\\) triple"):
        normalise_facts([42])


def test_check_facts_and_probe_annotate_records():
    from test_eval_scoring import make_model, make_tokenizer

    tok = make_tokenizer()
    model = make_model(len(tok))
    checks = check_facts(model, tok, FACTS, n_distractors=2, seed=0)
    assert set(checks) == set(FACTS)
    first = checks["q1"]["facts"][0]
    assert len(first["scores"]) == 3 and first["known"] == fact_is_known(first["scores"][0], first["scores"][1:])
    result = {
        "questions": [{"id": "q1", "correct": True}, {"id": "q2", "correct": False}, {"id": "q7", "correct": False}]
    }
    summary = probe_benchmark(model, tok, result, FACTS, n_distractors=2)
    assert summary["n_checked"] == 2 and result["questions"][2]["category"] == "no_facts"
    assert result["known"]["counts"]["no_facts"] == 1 and "fact_check" in result["questions"][0]


def test_synthesis_output_folder_feeds_the_probe(tmp_path):
    from kale.eval.known import parse_verbalised_path

    assert parse_verbalised_path("the Sun –emits→ light ←part of– white light") == [
        ("the Sun", "emits", "light"),
        ("white light", "part of", "light"),
    ]
    with pytest.raises(InputError, match="not a verbalised path"):
        parse_verbalised_path("just words")
    out = tmp_path / "synth"
    out.mkdir()
    pl.DataFrame({"id": ["q1"], "paths_text": [["a –r→ b", "a –r→ b –s→ c"]], "rationale": ["..."]}).write_parquet(
        out / "part-0-00000.parquet"
    )
    pl.DataFrame({"id": ["q2"], "paths_text": [[]], "rationale": ["..."]}).write_parquet(out / "part-0-00001.parquet")
    assert load_facts(out) == {"q1": [("a", "r", "b"), ("b", "s", "c")], "q2": []}


def test_paths_keep_their_structure():
    assert normalise_paths([["a", "r", "b"], ["b", "s", "c"]]) == [
        [("a", "r", "b"), ("b", "s", "c")]
    ]  # loose: one path
    assert normalise_paths(["a –r→ b", "a –r→ b –s→ c", "x –t→ y"]) == [
        [("a", "r", "b")],
        [("a", "r", "b"), ("b", "s", "c")],
        [("x", "t", "y")],
    ]
    nested = [[{"head": "a", "relation": "r", "tail": "b"}], [{"head": "c", "relation": "r", "tail": "d"}]]
    assert load_fact_paths({"q": nested}) == {"q": [[("a", "r", "b")], [("c", "r", "d")]]}
