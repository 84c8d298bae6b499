"""``kale train``: a click command that kale.cli registers on the main group.

Importing this module is cheap (no torch); the trainer is imported when the command runs.
"""

from __future__ import annotations

import sys

import click


@click.command("train")
@click.option("--data", "data", type=click.Path(), help="Rationales: a Parquet file, or the folder `kale synth` wrote.")
@click.option("--model", "model", type=click.Path(),
              help="HF model folder, or a .gguf file/folder.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="YAML run configuration (fields of kale.train.config.TrainConfig).")
@click.option("--output-dir", "output_dir", type=click.Path(file_okay=False),
              help="Where checkpoints, logs and the final model go.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config field (repeatable); the value is parsed as YAML.")
def train_command(data, model, config_path, output_dir, overrides):
    """Knowledge-aware fine-tuning (KALE Part 2) on a rationales Parquet file.

    Precedence: defaults < --config < --data/--model/--output-dir < --set.
    Multi-GPU: run under `accelerate launch` (DDP); see configs/train/.
    """
    from kale.train.config import TrainConfig
    from kale.train.errors import KaleTrainError

    try:
        cfg = TrainConfig.from_yaml(config_path) if config_path else TrainConfig()
        flags = [f"{k}={v}" for k, v in (("data", data), ("model", model),
                                         ("output_dir", output_dir)) if v]
        # Paths go through with_overrides as YAML strings; quote them so "1e5" stays a str.
        flags = [f"{k}={_quote(v)}" for k, v in (f.split("=", 1) for f in flags)]
        cfg = cfg.with_overrides(flags + list(overrides)).validate()
        from kale.train.trainer import train

        final = train(cfg)
    except KaleTrainError as exc:
        click.echo(f"kale train: error: {exc}", err=True)
        sys.exit(2)
    click.echo(str(final))


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
