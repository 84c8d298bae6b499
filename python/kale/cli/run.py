"""`kale run`: the whole job from one config — graph, synthesis, training per arm,
evaluation of the base model and each arm, and the report.

Each stage is one `kale` command run as a child process (its command line is printed,
so any stage can be rerun by hand). A stage whose output exists is skipped; an
interrupted one resumes (synthesis skips finished ids, training continues from its
last checkpoint), so rerunning `kale run` after Ctrl-C picks up where it stopped.
"""

from __future__ import annotations

import copy
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from kale.cli.errors import friendly_errors
from kale.exceptions import KaleValueError

# Sized for a 2-core CPU machine: about a quarter of an hour end to end with SmolLM2-135M
# (160 rationales, up to 40 steps of 4 examples, 400 validation questions per model).
# synth.judge "auto": an LLM writer's rationales are judged by the model being trained, so
# only those after which it picks the gold answer train. train.min_teacher_gain: the KA arms
# train only on rows where the rationale raises the gold's probability (kale.train.diagnose).
# train.divergence is kale train's own default (forward KL, chosen by measurement:
# docs/training.md), listed so that a config or --set can change it.
DEFAULTS: dict[str, Any] = {
    "out": "runs/kale",
    "graph": {"wordnet": "/usr/share/wordnet", "path": None},
    "data": "csqa",
    "model": "smollm2-135m-instruct",
    "synth": {
        "split": "train",
        "limit": 160,
        "writer": "transformers",
        "method": "astar",
        "max_hops": 3,
        "max_paths": 5,
        "target_depth": None,
        "batch_size": 16,
        "engine": "local",
        "ray_address": None,
        "judge": "auto",
    },
    "arms": ["ka"],
    "train": {
        "max_steps": 40,
        "epochs": 4,
        "micro_batch_size": 4,
        "learning_rate": None,
        "lr_schedule": "constant",
        "divergence": "forward_kl",
        "min_teacher_gain": 0.0,
    },
    "eval": {"bench": "csqa", "split": None, "limit": 400, "mode": "auto", "shots": 0, "threads": 0, "known": True},
}
ARMS = ("ka", "sft", "rationale-sft", "ka+sft")
LLM_WRITERS = ("transformers", "openai")


def merge(base: dict, over: dict, where: str = "") -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if k not in base:
            raise KaleValueError(f"unknown config key '{where}{k}'; known: {', '.join(base)}")
        out[k] = merge(base[k], v, f"{where}{k}.") if isinstance(base[k], dict) and isinstance(v, dict) else v
    return out


def load_config(path: Path | None, overrides: tuple[str, ...]) -> dict:
    import yaml

    cfg = copy.deepcopy(DEFAULTS)
    if path is not None:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise KaleValueError(f"{path}: expected a mapping of settings")
        cfg = merge(cfg, loaded)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise KaleValueError(f"--set {item!r}: expected KEY=VALUE, e.g. synth.limit=50")
        node = {}
        cursor = node
        parts = key.split(".")
        for part in parts[:-1]:
            cursor = cursor.setdefault(part, {})
        cursor[parts[-1]] = yaml.safe_load(value)
        cfg = merge(cfg, node)
    unknown = [a for a in cfg["arms"] if a not in ARMS]
    if unknown:
        raise KaleValueError(f"unknown arm(s) {unknown}; accepted: {', '.join(ARMS)}")
    return cfg


def facts_split(cfg: dict) -> tuple[bool, str | None]:
    """Whether the training dataset is among the evaluated benchmarks, and on which split:
    its NAME:SPLIT in eval.bench, else eval.split, else the benchmark's default."""
    from kale.data.registry import BENCHMARKS, split_of

    for entry in str(cfg["eval"]["bench"]).split(","):
        name, split = split_of(entry.strip())
        if name == cfg["data"]:
            default = BENCHMARKS[name].default_split if name in BENCHMARKS else None
            return True, split or cfg["eval"]["split"] or default
    return False, None


def stage(name: str, args: list[str], done: Path | None) -> None:
    if done is not None and done.exists():
        click.secho(f"== {name}: done already ({done})", fg="green")
        return
    cmd = [sys.executable, "-m", "kale", *args]
    click.secho(f"== {name}: {shlex.join(['kale', *args])}", bold=True)
    started = time.perf_counter()
    code = subprocess.call(cmd)
    if code != 0:
        raise click.ClickException(f"stage {name!r} failed (exit {code}); fix the cause and rerun `kale run` to resume")
    click.secho(f"   {name} took {time.perf_counter() - started:.0f} s", fg="green")


def options(values: dict) -> list[str]:
    out = []
    for k, v in values.items():
        if v is None or v is False:
            continue
        out += [f"--{k.replace('_', '-')}"] if v is True else [f"--{k.replace('_', '-')}", str(v)]
    return out


@click.command("run")
@click.argument("config", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a setting, e.g. synth.limit=50 or arms=[sft,ka].",
)
@click.option("--dry-run", is_flag=True, help="Print the stages and stop.")
@friendly_errors
def run_command(config: Path | None, overrides: tuple[str, ...], dry_run: bool) -> None:
    """Run synth -> train -> eval -> report from CONFIG (YAML), or from the embedded defaults."""
    cfg = load_config(config, overrides)
    out = Path(cfg["out"])
    out.mkdir(parents=True, exist_ok=True)
    import yaml

    (out / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    graph = Path(cfg["graph"]["path"]) if cfg["graph"]["path"] else out / "wordnet.kg"
    rationales = out / "rationales"
    plan = []
    if not cfg["graph"]["path"]:
        plan.append(
            ("graph", ["kg", "build", str(graph), "--wordnet", cfg["graph"]["wordnet"], "-q"], graph / "manifest.json")
        )
    synth = dict(cfg["synth"])
    if synth["judge"] == "auto":
        synth["judge"] = cfg["model"] if synth["writer"] in LLM_WRITERS else None
    plan.append(
        (
            "synth",
            [
                "synth",
                "--graph",
                str(graph),
                "--data",
                cfg["data"],
                "--out",
                str(rationales),
                "--model",
                cfg["model"],
                *options(synth),
            ],
            out / "rationales.done",
        )
    )
    evaluation = options({k: v for k, v in cfg["eval"].items() if k != "known"})
    probed, split = facts_split(cfg)
    if cfg["eval"]["known"] and probed:
        # The known&incorrect probe needs KG facts for the evaluated questions: linking
        # and paths as in synthesis, with the template writer (seconds, no model).
        facts = out / "facts"
        keep = {k: synth[k] for k in ("method", "max_hops", "max_paths", "target_depth") if k in synth}
        plan.append(
            (
                "facts",
                [
                    "synth",
                    "--graph",
                    str(graph),
                    "--data",
                    cfg["data"],
                    "--out",
                    str(facts),
                    "--writer",
                    "template",
                    *(["--split", split] if split else []),
                    *options({"limit": cfg["eval"]["limit"], **keep}),
                ],
                out / "facts.done",
            )
        )
        evaluation += ["--facts", str(facts)]
    runs = [out / "eval" / "base"]
    plan.append(
        (
            "eval base",
            ["eval", "--model", cfg["model"], "--out", str(runs[0]), "--name", "base", *evaluation],
            runs[0] / "results.json",
        )
    )
    for arm in cfg["arms"]:
        folder = out / f"train-{arm}"
        train = {"mode": arm, **cfg["train"]}  # every arm: the same rows, the same teacher filter
        if cfg["eval"]["shots"]:  # trained in the prompts evaluation scores, examples included
            train["shots"] = cfg["eval"]["shots"]
        # None leaves a field at kale train's default (learning_rate: the mode's own)
        sets = [x for k, v in train.items() if v is not None for x in ("--set", f"{k}={v}")]
        plan.append(
            (
                f"train {arm}",
                ["train", "--data", str(rationales), "--model", cfg["model"], "--output-dir", str(folder), *sets],
                folder / "model" / "config.json",
            )
        )
        runs.append(out / "eval" / arm)
        plan.append(
            (
                f"eval {arm}",
                ["eval", "--model", str(folder / "model"), "--out", str(runs[-1]), "--name", arm, *evaluation],
                runs[-1] / "results.json",
            )
        )
    plan.append(("report", ["report", *map(str, runs), "--out", str(out / "report")], None))
    if dry_run:
        for name, args, _ in plan:
            click.echo(f"{name}: {shlex.join(['kale', *args])}")
        return
    started = time.perf_counter()
    for name, args, done in plan:
        stage(name, args, done)
        if name in ("synth", "facts"):
            done.touch()  # a synthesis folder resumes, so only this marks it finished
    click.secho(
        f"\nall stages done in {(time.perf_counter() - started) / 60:.1f} min; report: {out / 'report'}", bold=True
    )
