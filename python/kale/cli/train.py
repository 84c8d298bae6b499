"""``kale train`` and ``kale diagnose``.

Importing this module is cheap (no torch); the trainer is imported when a command runs.
"""

from __future__ import annotations

import click

from kale.cli.errors import friendly_errors


def _config(config_path, overrides, **flags):
    """defaults < --config < the named flags < --set."""
    from kale.train.config import TrainConfig

    cfg = TrainConfig.from_yaml(config_path) if config_path else TrainConfig()
    # Paths go through with_overrides as YAML strings; quote them so "1e5" stays a str.
    named = [f"{k}={_quote(str(v))}" for k, v in flags.items() if v]
    return cfg.with_overrides(named + list(overrides))


@click.command("train")
@click.option("--data", "data", type=click.Path(), help="Rationales: a Parquet file, or the folder `kale synth` wrote.")
@click.option("--model", "model", type=click.Path(), help="HF model folder, or a .gguf file/folder.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML run configuration (fields of kale.train.config.TrainConfig).",
)
@click.option(
    "--output-dir",
    "output_dir",
    type=click.Path(file_okay=False),
    help="Where checkpoints, logs and the final model go.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config field (repeatable); the value is parsed as YAML.",
)
@friendly_errors
def train_command(data, model, config_path, output_dir, overrides):
    """Knowledge-aware fine-tuning (KALE Part 2) on a rationales Parquet file.

    Precedence: defaults < --config < --data/--model/--output-dir < --set.
    Multi-GPU: run under `accelerate launch` (DDP); see configs/train/.
    """
    cfg = _config(config_path, overrides, data=data, model=model, output_dir=output_dir).validate()
    from kale.train.trainer import train

    click.echo(str(train(cfg)))


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@click.command("diagnose")
@click.option("--data", "data", type=click.Path(), help="Rationales: a Parquet file, or the folder `kale synth` wrote.")
@click.option(
    "--model", "model", type=click.Path(), help="The model to be trained: HF folder, .gguf file/folder or alias."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="The training YAML: the diagnostic uses its prompt format and divergence.",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a training config field.")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where the per-row Parquet goes [default: DATA/teachable.parquet, or DATA.teachable.parquet].",
)
@click.option(
    "--keep",
    "keep",
    type=float,
    default=None,
    metavar="GAIN",
    help="Also write the rationales whose teacher gain exceeds GAIN to OUT's folder as kept.parquet.",
)
@friendly_errors
def diagnose_command(data, model, config_path, overrides, out, keep):
    """The teachable signal of a rationale set, before training: how much better the model
    answers with each rationale (q) than without it (p), in the prompts training will use."""
    from kale.train.errors import KaleTrainError

    cfg = _config(config_path, overrides, data=data, model=model)
    if cfg.mode == "sft":
        raise KaleTrainError("mode=sft trains without rationales: there is no q branch to measure")
    records, summary, path = _diagnose(cfg.validate(), out, keep)
    click.echo("\n".join(summary.lines()))
    click.echo(f"per-row columns: {path}")


def _diagnose(cfg, out, keep):
    from pathlib import Path

    import polars as pl

    from kale.train.data import load_pairs, read_rationales
    from kale.train.diagnose import run_diagnostic, write_records
    from kale.train.model_io import load_model_and_tokenizer

    source = Path(cfg.data)
    path = (
        Path(out)
        if out
        else (source / "teachable.parquet" if source.is_dir() else source.with_suffix(".teachable.parquet"))
    )
    model, tokenizer = load_model_and_tokenizer(cfg)
    pairs = load_pairs(cfg.data, tokenizer, cfg)
    records, summary = run_diagnostic(model, tokenizer, pairs.examples, cfg, progress=cfg.progress)
    write_records(records, path)
    if keep is not None:
        frame = read_rationales(source, quiet=True)  # the rows load_pairs numbered
        gains = {r["row"]: r["teacher_gain"] for r in records}
        chosen = [i for i in range(frame.height) if gains.get(i, -2.0) > keep]
        kept = frame[chosen].with_columns(pl.Series("teacher_gain", [gains[i] for i in chosen]))
        target = path.with_name("kept.parquet")
        kept.write_parquet(target)
        click.echo(f"{kept.height} of {frame.height} rows have a teacher gain above {keep}: {target}")
    return records, summary, path
