"""Trainer, data and config on a tiny random Llama: loss goes down, resume is exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")
from kale.train.config import TrainConfig  # noqa: E402
from kale.train.data import collate, load_pairs  # noqa: E402
from kale.train.errors import KaleTrainError  # noqa: E402
from kale.train.trainer import train  # noqa: E402

# Small real inputs: a word-level tokenizer with a ChatML template, a tiny random Llama saved
# as an HF folder, and a rationales Parquet file.

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

COLORS = ["white", "red", "blue", "green", "black", "yellow", "orange", "purple"]
THINGS = ["sun", "sky", "grass", "coal", "banana", "carrot", "plum", "snow"]


def rows(n: int = 16) -> list[dict]:
    out = []
    for i in range(n):
        thing, color = THINGS[i % 8], COLORS[i % 8]
        out.append(
            {
                "question": f"What is the color of the {thing} number {i}?",
                "choices": [color, COLORS[(i + 3) % 8]] if i % 2 == 0 else None,
                "answer": color,
                "rationale": f"The {thing} reflects {color} light so it looks {color}.",
            }
        )
    return out


def write_parquet(path: Path, data: list[dict]) -> Path:
    import polars as pl

    pl.DataFrame(
        data, schema={"question": pl.String, "choices": pl.List(pl.String), "answer": pl.String, "rationale": pl.String}
    ).write_parquet(path)
    return path


def make_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = set(
        "Answer the question . Question : Choices A B C D ? What is of number "
        "The reflects light so it looks Rationale user assistant system color".split()
    )
    words |= set(COLORS) | set(THINGS) | {str(i) for i in range(100)}
    specials = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]
    vocab = {w: i for i, w in enumerate(specials + sorted(words))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<|im_end|>", bos_token="<|im_start|>"
    )
    fast.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    fast.chat_template = CHATML
    return fast


def make_model_dir(path: Path, seed: int = 0, tie: bool = False) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = make_tokenizer()
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=tie,
        initializer_range=0.3,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(cfg).save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_assets")
    model = make_model_dir(root / "model")
    data = write_parquet(root / "rationales.parquet", rows(16))
    return model, data


def _cfg(assets, out, **kw) -> TrainConfig:
    model, data = assets
    base = dict(
        data=str(data),
        model=str(model),
        output_dir=str(out),
        micro_batch_size=4,
        learning_rate=3e-3,
        progress=False,
        max_grad_norm=1.0,
    )
    base.update(kw)
    return TrainConfig(**base)


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(
    "mode,target", [("ka", "frozen"), ("ka", "self"), ("sft", "self"), ("rationale-sft", "self"), ("ka+sft", "frozen")]
)
def test_steps_on_a_fixed_batch_lower_the_loss(assets, tmp_path, mode, target):
    model, data = assets
    fixed = write_parquet(tmp_path / "four.parquet", rows(4))
    cfg = _cfg(
        (model, fixed), tmp_path / "run", mode=mode, target=target, epochs=8, temperature=1.5 if mode == "ka" else 1.0
    )
    final = train(cfg)
    losses = [r["loss"] for r in _log(tmp_path / "run")]
    assert len(losses) == 8
    assert losses[-1] < 0.7 * losses[0], losses
    from transformers import AutoModelForCausalLM

    reloaded = AutoModelForCausalLM.from_pretrained(str(final))
    assert (final / "model.safetensors").exists()
    assert reloaded.get_output_embeddings().weight.shape[0] == len(make_tokenizer())


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_interrupted_and_resumed_equals_uninterrupted(assets, tmp_path):
    kw = dict(
        micro_batch_size=2,
        grad_accum_steps=2,
        epochs=2,
        max_steps=6,
        save_every=2,
        lr_schedule="linear",
        warmup_steps=1,
        target="self",
    )
    whole = train(_cfg(assets, tmp_path / "whole", **kw))

    def interrupt(step, record):
        if step == 3:  # one step past the last checkpoint: that work is lost and redone
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(_cfg(assets, tmp_path / "split", **kw), on_step=interrupt)
    assert (tmp_path / "split/checkpoints/latest").read_text() == "step-00000002"
    resumed = train(_cfg(assets, tmp_path / "split", **kw))
    a, b = _weights(whole), _weights(resumed)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    steps = [r["step"] for r in _log(tmp_path / "split")]
    assert steps == [1, 2, 3, 3, 4, 5, 6]


def test_resume_with_changed_config_says_what_changed(assets, tmp_path):
    train(_cfg(assets, tmp_path / "run", max_steps=1))
    with pytest.raises(KaleTrainError, match=r"learning_rate: 0.003 -> 0.01"):
        train(_cfg(assets, tmp_path / "run", max_steps=2, learning_rate=1e-2))


def test_bad_rows_are_counted_or_raised(assets, tmp_path):
    data = rows(6)
    data[1]["rationale"] = "  "
    data[2]["answer"] = None
    data[4]["question"] = "What is the color of the sun " * 40
    path = write_parquet(tmp_path / "bad.parquet", data)
    tok = make_tokenizer()
    cfg = _cfg(assets, tmp_path, data=str(path), max_length=64)
    pairs = load_pairs(path, tok, cfg)
    assert [e.row for e in pairs.examples] == [0, 3, 5]
    assert pairs.skipped == {"empty rationale": 1, "empty answer": 1, "longer than max_length=64": 1}
    cfg.on_bad_row = "error"
    with pytest.raises(KaleTrainError, match=r"bad.parquet: row 1: empty rationale"):
        load_pairs(path, tok, cfg)
    sft = _cfg(assets, tmp_path, data=str(path), mode="sft", max_length=64)
    assert [e.row for e in load_pairs(path, tok, sft).examples] == [0, 1, 3, 5]


def test_missing_rationales_fail_before_the_model_loads(tmp_path):
    cfg = TrainConfig(
        data=str(tmp_path / "nope.parquet"),
        model=str(tmp_path / "no-model"),
        output_dir=str(tmp_path / "out"),
        progress=False,
    )
    with pytest.raises(KaleTrainError, match="nope.parquet: rationales file not found"):
        train(cfg)


def test_missing_column_is_named(assets, tmp_path):
    import polars as pl

    path = tmp_path / "nocol.parquet"
    pl.DataFrame({"question": ["q"], "answer": ["a"]}).write_parquet(path)
    with pytest.raises(KaleTrainError, match=r"missing column\(s\) \['rationale'\]"):
        load_pairs(path, make_tokenizer(), _cfg(assets, tmp_path, data=str(path)))


@pytest.mark.parametrize("fmt,answers", [("chat", "white <|im_end|>"), ("eval", "white red")])
def test_answer_positions_line_up_in_both_branches(assets, tmp_path, fmt, answers):
    tok = make_tokenizer()
    cfg = _cfg(assets, tmp_path, prompt_format=fmt)
    pairs = load_pairs(cfg.data, tok, cfg)
    batch = collate(pairs.examples[:3], tok.pad_token_id, "ka")
    # Position t predicts token t+1: the tokens after masked positions are the answers.
    nxt_p = batch["p_ids"][:, 1:][batch["p_answer"][:, :-1]]
    nxt_q = batch["q_ids"][:, 1:][batch["q_answer"][:, :-1]]
    assert torch.equal(nxt_p, batch["p_labels"]) and torch.equal(nxt_q, batch["p_labels"])
    # chat: the answer and the end of the turn; eval: the scored answer texts alone
    assert tok.decode(batch["p_labels"][:2]) == answers


def test_config_yaml_and_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("mode: ka+sft\nce_weight: 0.5\nlora_target_modules: [q_proj]\n")
    cfg = TrainConfig.from_yaml(path).with_overrides(["temperature=2", "max_steps=10", "data=x.parquet", "model=m"])
    assert (cfg.mode, cfg.ce_weight, cfg.temperature, cfg.max_steps) == ("ka+sft", 0.5, 2, 10)
    assert cfg.validate().lora_target_modules == ["q_proj"]
    with pytest.raises(KaleTrainError, match="unknown config field 'temprature'"):
        cfg.with_overrides(["temprature=2"])
    with pytest.raises(KaleTrainError, match="'mode'"):
        cfg.with_overrides(["mode=kl"]).validate()


def test_cli_runs_one_step(assets, tmp_path):
    from click.testing import CliRunner

    from kale.cli.train import train_command

    model, data = assets
    result = CliRunner().invoke(
        train_command,
        [
            "--data",
            str(data),
            "--model",
            str(model),
            "--output-dir",
            str(tmp_path / "cli"),
            "--set",
            "max_steps=1",
            "--set",
            "progress=false",
        ],
    )
    assert result.exit_code == 0, result.output
    assert Path(result.output.strip().splitlines()[-1]).name == "model"
    bad = CliRunner().invoke(train_command, ["--data", str(data), "--model", str(model), "--set", "mode=nope"])
    assert bad.exit_code == 1 and "'mode'" in bad.output and "Traceback" not in bad.output, "exit 1 as every command"


@pytest.mark.parametrize("name", ["ka_smollm2_cpu.yaml", "ka_gpu_bf16.yaml", "ka_sft_lora.yaml"])
def test_sample_run_configs_load(name):
    path = Path(__file__).parent.parent / "configs" / "train" / name
    cfg = TrainConfig.from_yaml(path).with_overrides(["data=r.parquet", "model=m"]).validate()
    assert cfg.mode in ("ka", "ka+sft")


def test_lora_frozen_target_trains_and_saves_a_merged_plain_model(assets, tmp_path):
    pytest.importorskip("peft")
    from transformers import AutoModelForCausalLM

    cfg = _cfg(
        assets,
        tmp_path / "lora",
        lora=True,
        lora_r=4,
        lora_alpha=8,
        target="frozen",
        lora_target_modules=["q_proj", "v_proj"],
        max_steps=2,
        learning_rate=1e-2,
    )
    final = train(cfg)
    merged = AutoModelForCausalLM.from_pretrained(str(final))
    start = AutoModelForCausalLM.from_pretrained(str(assets[0]))
    names = [n for n, _ in merged.named_parameters()]
    assert not any("lora" in n for n in names)
    q_new = merged.model.layers[0].self_attn.q_proj.weight
    q_old = start.model.layers[0].self_attn.q_proj.weight
    assert not torch.equal(q_new, q_old)  # the adapter was merged in
    assert torch.equal(merged.model.layers[0].mlp.up_proj.weight, start.model.layers[0].mlp.up_proj.weight)


def test_trainer_accumulation_1x8_equals_8x1(assets, tmp_path):
    """One optimizer step over the same 8 examples: one micro-batch of 8 or 8 of 1
    (ka+sft, so both the KL and the CE normalisation are covered)."""
    # Adam's first update is lr * g / (|g| + eps), so a weight whose gradient is near eps
    # turns summation-order noise into a visible step; the tolerance below was set with
    # reverse KL's gradients, so the test keeps that divergence.
    common = dict(mode="ka+sft", max_steps=1, max_grad_norm=None, target="frozen", divergence="reverse_kl")
    big = train(_cfg(assets, tmp_path / "8x1", micro_batch_size=8, grad_accum_steps=1, **common))
    acc = train(_cfg(assets, tmp_path / "1x8", micro_batch_size=1, grad_accum_steps=8, **common))
    a, b = _weights(big), _weights(acc)
    start = _weights(assets[0])
    moved = max((a[n] - start[n]).abs().max().item() for n in a)
    assert moved > 1e-4
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=2e-5 * moved / 1e-3)


def test_tensorboard_and_jsonl_logs(assets, tmp_path):
    pytest.importorskip("tensorboard")
    train(_cfg(assets, tmp_path / "tb", max_steps=2, tensorboard=True, divergence="jsd"))
    assert list((tmp_path / "tb" / "tensorboard").glob("events.*"))
    records = _log(tmp_path / "tb")
    assert [r["step"] for r in records] == [1, 2]
    assert {"loss", "kl", "lr", "grad_norm", "target_tokens", "tokens_per_s"} <= set(records[0])
