"""Atomic training checkpoints in safetensors + JSON; nothing is pickled or unpickled.

Layout of ``<output_dir>/checkpoints/step-00000012/``:
    model.safetensors      trainable parameters (all of them, or only LoRA's)
    optimizer.safetensors  per-parameter optimizer tensors, keyed "<param index>.<name>"
    rng.safetensors        torch CPU (and CUDA) generator states
    state.json             step, optimizer scalars and param groups, scheduler, scaler, config

A checkpoint is written to a ``.tmp`` sibling and renamed into place, then ``latest`` is
replaced atomically, so a crash mid-save leaves the previous checkpoint intact. This covers
single-process and DDP training (every rank holds the full state; rank 0 writes). Sharded
optimizers (FSDP, DeepSpeed ZeRO) are not covered: the trainer refuses them with a message.
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
    return {n: p.detach().contiguous().cpu() for n, p in model.named_parameters()
            if p.requires_grad}


def _split_optimizer(optimizer) -> tuple[dict, dict]:
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{idx}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{idx}.{key}"] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}
              for g in sd["param_groups"]]
    return tensors, {"scalars": scalars, "param_groups": groups}


def save_checkpoint(output_dir, step: int, model, optimizer, scheduler, scaler,
                    state: dict, keep: int) -> Path:
    root = checkpoint_root(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    final, tmp = root / name, root / f"{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(_trainable(model), str(tmp / "model.safetensors"))
    opt_tensors, opt_json = _split_optimizer(optimizer)
    save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    save_file(rng, str(tmp / "rng.safetensors"))
    full = dict(state, step=step, optimizer=opt_json,
                scheduler=scheduler.state_dict() if scheduler is not None else None,
                scaler=scaler.state_dict() if scaler is not None else None)
    (tmp / "state.json").write_text(json.dumps(full, indent=1, default=_json_default),
                                    encoding="utf-8")
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


def load_checkpoint(path: Path, model, optimizer, scheduler, scaler) -> dict:
    """Restore everything saved by :func:`save_checkpoint`; returns state.json's contents."""
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    weights = load_file(str(path / "model.safetensors"))
    params = dict(model.named_parameters())
    missing = [n for n, p in params.items() if p.requires_grad and n not in weights]
    if missing:
        raise KaleTrainError(f"{path}: checkpoint lacks parameters {missing[:5]} — was it "
                             "written for another model or LoRA setting?")
    with torch.no_grad():
        for name, tensor in weights.items():
            params[name].copy_(tensor)
    opt_tensors = load_file(str(path / "optimizer.safetensors"))
    opt_json = state["optimizer"]
    per_param: dict[int, dict] = {}
    for key, value in list(opt_tensors.items()) + list(opt_json["scalars"].items()):
        idx, name = key.split(".", 1)
        per_param.setdefault(int(idx), {})[name] = value
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()}
              for g in opt_json["param_groups"]]
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
