"""The knowledge-aware trainer: accelerate, exact resume, and a plain HF model at the end.

One optimizer step = ``grad_accum_steps`` micro-batches on every process. The data order is a
pure function of (seed, epoch), so a resumed run sees exactly the batches it would have seen,
and the loss normaliser (target tokens of the whole step, all processes) is computed locally
from that order without communication.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from kale.exceptions import FolderInUseError
from kale.locks import lock
from kale.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from kale.train.config import TrainConfig
from kale.train.data import Example, collate, load_pairs, read_rationales
from kale.train.errors import KaleTrainError
from kale.train.model_io import load_model_and_tokenizer, save_plain_model
from kale.train.objective import Objective, ObjectiveModule


class StepPlan:
    """Which examples each process uses for each micro-batch of each optimizer step."""

    def __init__(self, examples: list[Example], cfg: TrainConfig, world: int, rank: int):
        self.examples, self.cfg, self.world, self.rank = examples, cfg, world, rank
        self.per_step = cfg.micro_batch_size * cfg.grad_accum_steps * world
        self.steps_per_epoch = len(examples) // self.per_step
        if self.steps_per_epoch == 0:
            raise KaleTrainError(
                f"{len(examples)} usable examples are fewer than one optimizer step needs "
                f"({cfg.micro_batch_size} x {cfg.grad_accum_steps} accumulation x {world} "
                "processes); lower micro_batch_size or grad_accum_steps"
            )
        total = cfg.epochs * self.steps_per_epoch
        self.total_steps = min(total, cfg.max_steps) if cfg.max_steps else total
        self._order: tuple[int, list[int]] | None = None

    def order(self, epoch: int) -> list[int]:
        if self._order is None or self._order[0] != epoch:
            gen = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + epoch)
            self._order = (epoch, torch.randperm(len(self.examples), generator=gen).tolist())
        return self._order[1]

    def step(self, step: int) -> tuple[int, list[list[Example]], int]:
        """(epoch, this process's micro-batches, target tokens of the whole step)."""
        epoch, within = divmod(step, self.steps_per_epoch)
        idx = self.order(epoch)[within * self.per_step : (within + 1) * self.per_step]
        mb = self.cfg.micro_batch_size
        mine = [
            [self.examples[i] for i in idx[(k * self.world + self.rank) * mb : (k * self.world + self.rank + 1) * mb]]
            for k in range(self.cfg.grad_accum_steps)
        ]
        rsft = self.cfg.mode == "rationale-sft"
        tokens = sum(
            len(self.examples[i].q_ids) - self.examples[i].q_target_start if rsft else self.examples[i].answer_len
            for i in idx
        )
        return epoch, mine, tokens


def _lr_lambda(cfg: TrainConfig, total: int) -> Callable[[int], float]:
    def f(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / (cfg.warmup_steps + 1)
        if cfg.lr_schedule == "constant":
            return 1.0
        frac = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
        return 1.0 - frac if cfg.lr_schedule == "linear" else 0.5 * (1 + math.cos(math.pi * frac))

    return f


class JsonlLog:
    def __init__(self, path: Path, tensorboard_dir: Path | None):
        self.path = path
        self.tb = None
        if tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise KaleTrainError("tensorboard=true needs the tensorboard package") from exc
            self.tb = SummaryWriter(str(tensorboard_dir))

    def write(self, record: dict) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for k, v in record.items():
                if isinstance(v, (int, float)) and k != "step":
                    self.tb.add_scalar(f"train/{k}", v, record["step"])

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def _full_model_state(accelerator, wrapped, cfg: TrainConfig) -> dict[str, torch.Tensor]:
    """The FSDP model's full state dict on the main process (empty elsewhere), keyed as the
    HF model's own and cast back to ``torch_dtype`` (accelerate keeps fp32 master weights
    under mixed precision)."""
    dtype = getattr(torch, cfg.torch_dtype)
    full = accelerator.get_state_dict(wrapped)
    # named_parameters lists a tied weight once (embed_tokens), as save_pretrained stores it.
    model = accelerator.unwrap_model(wrapped).model
    names = {n for n, _ in model.named_parameters()} | {n for n, _ in model.named_buffers()}
    full = {k.removeprefix("model."): v for k, v in full.items()}
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in full.items() if k in names}


def _preflight(
    cfg: TrainConfig, model, tokenizer, examples: list[Example], accelerator, out: Path, fsdp: bool
) -> list[Example]:
    """The teachable signal of the training rows, printed and written to
    ``output_dir/teachable.parquet``; with ``min_teacher_gain``, the rows that pass it.
    Every process computes the same thing (the model is the same), so no communication."""
    from kale.train.diagnose import keep_teaching, run_diagnostic, write_records

    if fsdp:  # every process would need the whole model
        if cfg.min_teacher_gain is not None:
            raise KaleTrainError(
                "min_teacher_gain under FSDP is not supported: run `kale diagnose` "
                "first and train on the rows it keeps (--keep)"
            )
        return examples
    model.to(accelerator.device)
    records, summary = run_diagnostic(
        model, tokenizer, examples, cfg, progress=cfg.progress and accelerator.is_main_process
    )
    if accelerator.is_main_process:
        write_records(records, out / "teachable.parquet")
        print("\n".join(summary.lines()), file=sys.stderr)
    if cfg.min_teacher_gain is None:
        return examples
    kept = keep_teaching(examples, records, cfg.min_teacher_gain)
    if accelerator.is_main_process:
        print(
            f"min_teacher_gain={cfg.min_teacher_gain}: training on {len(kept)} of {len(examples)} "
            "rows (those where the rationale raises the gold answer's probability by more)",
            file=sys.stderr,
        )
    if not kept:
        raise KaleTrainError(
            f"min_teacher_gain={cfg.min_teacher_gain}: no row passes (see "
            f"{out / 'teachable.parquet'}); the rationales teach nothing at this bar"
        )
    return kept


def train(config: TrainConfig, *, on_step: Callable[[int, dict], None] | None = None) -> Path:
    """Run (or resume) training; returns the folder of the saved Hugging Face model.
    The output folder is locked while it runs: a second run into it stops at once."""
    cfg = config.validate()
    # Under `accelerate launch` every process of one run writes there: the first one holds the lock.
    if os.environ.get("RANK", "0") != "0":
        return _train(cfg, on_step=on_step)
    try:
        held = lock(Path(cfg.output_dir) / ".kale-train.lock", f"--output-dir {cfg.output_dir}", "kale train")
    except FolderInUseError as e:
        raise KaleTrainError(str(e)) from None
    with held:
        return _train(cfg, on_step=on_step)


def _train(config: TrainConfig, *, on_step: Callable[[int, dict], None] | None = None) -> Path:
    """Run (or resume) training; returns the folder of the saved Hugging Face model.

    ``on_step(step, record)`` is called on the main process after each optimizer step (and
    after any checkpoint of that step); raising from it stops training there.
    """
    from accelerate import Accelerator
    from accelerate.utils import DistributedType
    from tqdm.auto import tqdm

    cfg = config.validate()
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision)
    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        raise KaleTrainError(
            "DeepSpeed is not supported: use FSDP (configs/train/"
            "accelerate_fsdp.yaml) or DDP (accelerate launch --multi_gpu)"
        )
    fsdp = accelerator.distributed_type == DistributedType.FSDP
    if fsdp and accelerator.state.fsdp_plugin.fsdp_version != 2:
        raise KaleTrainError(
            "FSDP1 is not supported: set fsdp_version: 2 in the accelerate "
            "config (see configs/train/accelerate_fsdp.yaml)"
        )
    if fsdp and cfg.lora:
        raise KaleTrainError(
            "lora=true under FSDP is not supported (merging the adapter needs "
            "the full model); LoRA fits DDP: accelerate launch --multi_gpu"
        )
    # The rows first: a missing or unreadable file fails in a second, before a model loads.
    rows = read_rationales(cfg.data)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    model, tokenizer = load_model_and_tokenizer(cfg)
    # Sequences past the model's context are skipped (or rejected) like any other bad row.
    context = getattr(model.config, "max_position_embeddings", None) or cfg.max_length
    data = load_pairs(cfg.data, tokenizer, dataclasses.replace(cfg, max_length=min(cfg.max_length, context)), rows)
    if cfg.min_teacher_gain is not None or (cfg.preflight and cfg.mode != "sft"):
        data.examples = _preflight(cfg, model, tokenizer, data.examples, accelerator, out, fsdp)
    plan = StepPlan(data.examples, cfg, accelerator.num_processes, accelerator.process_index)
    objective = Objective(cfg, model)  # copies the frozen target before wrapping
    # The objective is the forward of one module (see ObjectiveModule): DDP or FSDP wrap it.
    wrapper = ObjectiveModule(objective, model)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=cfg.learning_rate,
        betas=cfg.adam_betas,
        weight_decay=cfg.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(cfg, plan.total_steps))
    wrapped, optimizer = accelerator.prepare(wrapper, optimizer)
    # FSDP replaces the parameters (by sharded ones): collect them after prepare.
    params = [p for p in wrapped.parameters() if p.requires_grad]
    objective.to(accelerator.device)

    start = 0
    ckpt = latest_checkpoint(out) if cfg.resume else None
    if ckpt is not None:
        saved = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
        changed = cfg.changes_from(saved["config"])
        if changed:
            lines = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items())
            raise KaleTrainError(
                f"{ckpt}: cannot resume, the configuration changed ({lines}); use a new output_dir or set resume=false"
            )
        load_checkpoint(
            ckpt, accelerator.unwrap_model(wrapped).model, optimizer, scheduler, accelerator.scaler, sharded=fsdp
        )
        start = saved["step"]
    main = accelerator.is_main_process
    if main:
        import yaml

        (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        (out / "data_report.json").write_text(
            json.dumps(
                {
                    "examples": len(data.examples),
                    "model_context": context,
                    "skipped": dict(data.skipped),
                    "skipped_rows": {k: v[:100] for k, v in data.skipped_rows.items()},
                },
                indent=1,
            )
        )
    log = JsonlLog(out / "train_log.jsonl", out / "tensorboard" if cfg.tensorboard else None) if main else None
    bar = tqdm(
        total=plan.total_steps,
        initial=start,
        disable=not (cfg.progress and main),
        desc=f"kale train ({cfg.mode})",
        unit="step",
    )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    model.train()
    for step in range(start, plan.total_steps):
        t0 = time.perf_counter()
        epoch, micro_batches, tokens = plan.step(step)
        norm = tokens / accelerator.num_processes  # a float: see ObjectiveModule.forward
        sums: dict[str, torch.Tensor] = {}
        for k, examples in enumerate(micro_batches):
            batch = {n: v.to(accelerator.device) for n, v in collate(examples, pad_id, cfg.mode).items()}
            last = k == len(micro_batches) - 1
            # DDP: all-reduce once, after the last micro-batch. FSDP reduce-scatters after every
            # micro-batch: skipping it would hold a full unsharded gradient on every GPU.
            skip_sync = not last and not fsdp
            sync = accelerator.no_sync(wrapped) if skip_sync else contextlib.nullcontext()
            with sync:
                with accelerator.autocast():
                    loss = wrapped(batch, norm)
                accelerator.backward(loss)
            for name, value in wrapper.pieces.items():
                sums[name] = sums[name] + value if name in sums else value
        # One device sync per optimizer step, for logging. Each process's loss is its share of
        # the step's sum over (tokens / processes), so the mean over processes is the step's.
        names = sorted(sums)
        stacked = torch.stack([sums[n].float() for n in names])
        if accelerator.num_processes > 1:
            stacked = accelerator.reduce(stacked, reduction="mean")
        parts = dict(zip(names, stacked.tolist()))
        grad_norm = None
        if cfg.max_grad_norm:
            grad_norm = float(accelerator.clip_grad_norm_(params, cfg.max_grad_norm))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        seconds = max(time.perf_counter() - t0, 1e-9)
        # Throughput counts every token this process ran through the model (both branches).
        seen = sum(len(e.p_ids) + len(e.q_ids) for mb in micro_batches for e in mb)
        record = {
            "step": done,
            "epoch": epoch,
            "lr": scheduler.get_last_lr()[0],
            "target_tokens": tokens,
            **parts,
            "grad_norm": grad_norm,
            "seconds": seconds,
            "tokens_per_s": seen / seconds,
        }
        if main and done % cfg.log_every == 0:
            log.write(record)
        bar.update(1)
        bar.set_postfix(loss=f"{parts.get('loss', 0.0):.4f}")
        if (cfg.save_every and done % cfg.save_every == 0) or done == plan.total_steps:
            accelerator.wait_for_everyone()
            if main or fsdp:  # FSDP gathers the state collectively; rank 0 writes
                save_checkpoint(
                    out,
                    done,
                    accelerator.unwrap_model(wrapped).model,
                    optimizer,
                    scheduler,
                    accelerator.scaler,
                    {"config": cfg.to_dict(), "epoch": epoch},
                    cfg.keep_checkpoints,
                    sharded=fsdp,
                    write=main,
                )
        if on_step is not None and main:
            on_step(done, record)
    bar.close()
    if log is not None:
        log.close()
    accelerator.wait_for_everyone()
    final = out / "model"
    # FSDP: the full weights are gathered onto rank 0 (collective), cast to torch_dtype.
    state = _full_model_state(accelerator, wrapped, cfg) if fsdp else None
    if main:
        save_plain_model(accelerator.unwrap_model(wrapped).model, tokenizer, final, cfg, state_dict=state)
    accelerator.wait_for_everyone()
    return final
