"""Atomic training checkpoints in safetensors + JSON; nothing is pickled or unpickled.

Layout of ``<output_dir>/checkpoints/step-00000012/``:
    model.safetensors      trainable parameters (all of them, or only LoRA's)
    optimizer.safetensors  per-parameter optimizer tensors, keyed "<param>.<name>", <param>
                           being the parameter's index (single process, DDP) or its name (FSDP)
    rng.safetensors        torch CPU (and CUDA) generator states
    state.json             step, optimizer scalars and param groups, scheduler, scaler, config

A checkpoint is written to a ``.tmp`` sibling and renamed into place, then ``latest`` is
replaced atomically, so a crash mid-save leaves the previous checkpoint intact. Single-process
and DDP training: every rank holds the full state and rank 0 writes. FSDP (``sharded=True``):
every rank takes part in gathering the full (unsharded) model and optimizer state onto rank 0's
CPU, rank 0 writes the same files (optimizer tensors keyed by parameter name), and on resume
every rank reads them and keeps its own shard. The gathered state must fit in rank 0's CPU
memory (for full fine-tuning of 8B with AdamW: ~32 GB of fp32 weights plus ~64 GB of optimizer
moments). DeepSpeed ZeRO is not covered: the trainer refuses it with a message.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from kale.train.errors import KaleTrainError


def checkpoint_root(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    pointer = checkpoint_root(output_dir) / "latest"
    if not pointer.exists():
        return None
    path = checkpoint_root(output_dir) / pointer.read_text(encoding="utf-8").strip()
    if not (path / "state.json").exists():
        raise KaleTrainError(f"{pointer} names {path.name}, which is missing or incomplete")
    return path


def _trainable(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().contiguous().cpu() for n, p in model.named_parameters() if p.requires_grad}


def _full_state(model, optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """FSDP: the full trainable weights and optimizer state (keyed by parameter name) on rank
    0's CPU; other ranks get empty dicts. Collective: every rank must call it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    msd, osd = get_state_dict(model, optimizer, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {n: t.contiguous() for n, t in msd.items() if n in names}, osd


def _split_optimizer(optimizer=None, sd: dict | None = None) -> tuple[dict, dict]:
    sd = optimizer.state_dict() if sd is None else sd
    tensors, scalars = {}, {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{idx}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{idx}.{key}"] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"scalars": scalars, "param_groups": groups}


def save_checkpoint(
    output_dir,
    step: int,
    model,
    optimizer,
    scheduler,
    scaler,
    state: dict,
    keep: int,
    *,
    sharded: bool = False,
    write: bool = True,
) -> Path | None:
    """Write a checkpoint. Under FSDP (``sharded``) every rank calls this (the state is
    gathered collectively) and only the one with ``write`` writes; returns the folder written
    (None where nothing was)."""
    if sharded:
        weights, opt_sd = _full_state(model, optimizer)
    if not write:
        return None
    if not sharded:
        weights, opt_sd = _trainable(model), optimizer.state_dict()
    root = checkpoint_root(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    final, tmp = root / name, root / f"{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(weights, str(tmp / "model.safetensors"))
    opt_tensors, opt_json = _split_optimizer(sd=opt_sd)
    save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    save_file(rng, str(tmp / "rng.safetensors"))
    full = dict(
        state,
        step=step,
        optimizer=opt_json,
        scheduler=scheduler.state_dict() if scheduler is not None else None,
        scaler=scaler.state_dict() if scaler is not None else None,
    )
    (tmp / "state.json").write_text(json.dumps(full, indent=1, default=_json_default), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    pointer_tmp = root / "latest.tmp"
    pointer_tmp.write_text(name, encoding="utf-8")
    os.replace(pointer_tmp, root / "latest")
    old = sorted(p for p in root.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp"))
    for path in old[:-keep]:
        shutil.rmtree(path, ignore_errors=True)
    return final


def _json_default(value):
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint's state.json")


def load_checkpoint(path: Path, model, optimizer, scheduler, scaler, *, sharded: bool = False) -> dict:
    """Restore everything saved by :func:`save_checkpoint`; returns state.json's contents.
    Under FSDP (``sharded``) every rank calls it and keeps its shard of the saved state."""
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    weights = load_file(str(path / "model.safetensors"))
    params = dict(model.named_parameters())
    missing = [n for n, p in params.items() if p.requires_grad and n not in weights]
    if missing:
        raise KaleTrainError(
            f"{path}: checkpoint lacks parameters {missing[:5]} — was it written for another model or LoRA setting?"
        )
    opt_tensors = load_file(str(path / "optimizer.safetensors"))
    opt_json = state["optimizer"]
    per_param: dict = {}
    for key, value in list(opt_tensors.items()) + list(opt_json["scalars"].items()):
        param, name = key.rsplit(".", 1)  # "<index or parameter name>.<state name>"
        per_param.setdefault(int(param) if param.isdigit() else param, {})[name] = value
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in opt_json["param_groups"]]
    if per_param and sharded != any(isinstance(k, str) for k in per_param):
        raise KaleTrainError(
            f"{path}: written {'without' if sharded else 'with'} FSDP; resume it the way it was trained"
        )
    if sharded:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

        set_state_dict(
            model,
            optimizer,
            model_state_dict=weights,
            optim_state_dict={"state": per_param, "param_groups": groups},
            options=StateDictOptions(full_state_dict=True, strict=False),
        )
    else:
        with torch.no_grad():
            for name, tensor in weights.items():
                params[name].copy_(tensor)
        optimizer.load_state_dict({"state": per_param, "param_groups": groups})
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state.get("scaler") is not None:
        scaler.load_state_dict(state["scaler"])
    rng = load_file(str(path / "rng.safetensors"))
    torch.set_rng_state(rng["cpu"])
    if torch.cuda.is_available():
        states = [rng[k] for k in sorted(rng) if k.startswith("cuda")]
        if states:
            torch.cuda.set_rng_state_all(states)
    return state
