"""FSDP2 (and DDP) on CPU: two gloo processes under accelerate train exactly like one.

accelerate chooses FSDP only for GPU-type backends, so the child processes switch the shared
AcceleratorState from MULTI_CPU to FSDP (version 2) before ``train()``; from there on the
trainer runs the same code as on GPUs: accelerate's ``fsdp2_prepare_model`` shards the decoder
layers and the root, ``no_sync`` skips the reduce-scatter between micro-batches, checkpoints
are gathered onto rank 0, and the final model is gathered with ``get_state_dict``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")
from kale.train.trainer import train  # noqa: E402
from test_train_trainer import (  # noqa: E402
    _cfg,
    _log,
    _weights,
    make_model_dir,
    rows,
    write_parquet,
)

HARNESS = r"""
import json, sys
from accelerate import Accelerator
from accelerate.state import PartialState
from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

configs, fsdp = json.loads(sys.argv[1]), sys.argv[2] == "fsdp"
precision = configs[0].get("mixed_precision", "no")
state = Accelerator(cpu=True, mixed_precision=precision).state
assert state.distributed_type == DistributedType.MULTI_CPU, state.distributed_type
if fsdp:
    # AcceleratorState copies PartialState's fields on every Accelerator(): switch both.
    PartialState._shared_state["distributed_type"] = DistributedType.FSDP
    state.distributed_type = DistributedType.FSDP
    state.fsdp_plugin = FullyShardedDataParallelPlugin(
        fsdp_version=2, auto_wrap_policy="transformer_based_wrap",
        state_dict_type="FULL_STATE_DICT")
    if precision != "no":
        state.fsdp_plugin.set_mixed_precision(precision)

_prepare = Accelerator.prepare


def prepare(self, *args):
    out = _prepare(self, *args)
    from torch.distributed.fsdp import FSDPModule
    from torch.distributed.tensor import DTensor
    from torch.nn.parallel import DistributedDataParallel

    model = out[0]
    if not fsdp:
        assert isinstance(model, DistributedDataParallel), type(model)
        print("DDP", flush=True)
        return out
    head = model.model.get_output_embeddings().weight
    assert isinstance(model, FSDPModule), type(model)
    assert isinstance(head, DTensor) and head.to_local().shape[0] < head.shape[0]
    units = sum(isinstance(m, FSDPModule) for m in model.modules())
    print("FSDP units:", units, "head shard:", tuple(head.to_local().shape), flush=True)
    return out


Accelerator.prepare = prepare
from kale.train.config import TrainConfig
from kale.train.trainer import train

for config in configs:
    train(TrainConfig(**config))
"""


def run_two(tmp_path: Path, configs: list, kind: str) -> str:
    """Run the configs one after the other in 2 gloo processes under ``kind`` (fsdp|ddp)."""
    script = tmp_path / "fsdp_harness.py"
    script.write_text(HARNESS)
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).resolve().parents[1] / "python"), os.environ.get("PYTHONPATH", "")]
        ),
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(script),
            json.dumps([c.to_dict() for c in configs]),
            kind,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc.stdout


@pytest.mark.parametrize(
    "kind,tie,mode,target",
    [("fsdp", False, "ka+sft", "frozen"), ("fsdp", True, "ka", "self"), ("ddp", False, "ka+sft", "frozen")],
)
def test_two_processes_equal_one_and_resume(tmp_path, kind, tie, mode, target):
    """4 steps on one process (4 examples a step, one micro-batch) against 2 FSDP (or DDP)
    processes (1 example x 2 accumulation each) that stop after 2 steps and resume from the
    checkpoint: the same losses step by step and the same final weights."""
    model = make_model_dir(tmp_path / "model", tie=tie)
    data = write_parquet(tmp_path / "r.parquet", rows(16))
    assets = (model, data)
    common = dict(mode=mode, target=target, max_grad_norm=1.0, save_every=2)
    single = train(_cfg(assets, tmp_path / "single", micro_batch_size=4, max_steps=4, **common))
    fsdp = dict(micro_batch_size=1, grad_accum_steps=2, **common)
    out = run_two(
        tmp_path,
        [_cfg(assets, tmp_path / "fsdp", max_steps=2, **fsdp), _cfg(assets, tmp_path / "fsdp", max_steps=4, **fsdp)],
        kind,
    )
    # 2 ranks x 2 runs, all sharded (or all DDP)
    assert out.count("FSDP units:" if kind == "fsdp" else "DDP") == 4, out
    assert (tmp_path / "fsdp/checkpoints/latest").read_text() == "step-00000004"
    a, b = _log(tmp_path / "single"), _log(tmp_path / "fsdp")
    assert [r["step"] for r in b] == [1, 2, 3, 4]
    for ra, rb in zip(a, b):
        for key in ("loss", "kl", "ce", "grad_norm"):
            if key in ra:
                assert rb[key] == pytest.approx(ra[key], rel=1e-4, abs=1e-6), (ra["step"], key)
    wa, wb = _weights(single), _weights(tmp_path / "fsdp" / "model")
    assert wa.keys() == wb.keys()
    start = _weights(model)
    moved = max((wa[n] - start[n]).abs().max().item() for n in wa)
    assert moved > 1e-3
    for name in wa:
        # Adam divides by sqrt(v), so float-order noise in tiny gradients can move a single
        # weight by ~4e-3 x moved (as much as one process gives for 4x1 vs 1x4 micro-batches);
        # a missing or doubled gradient reduction would move all of them.
        torch.testing.assert_close(wb[name], wa[name], rtol=0, atol=1e-2 * moved)
        assert (wb[name] - wa[name]).abs().mean() < 1e-4 * moved, name
    from transformers import AutoModelForCausalLM

    reloaded = AutoModelForCausalLM.from_pretrained(str(tmp_path / "fsdp" / "model"))
    emb, head = reloaded.get_input_embeddings().weight, reloaded.get_output_embeddings().weight
    assert (emb.data_ptr() == head.data_ptr()) == tie


@pytest.mark.parametrize(
    "kind,version,lora,match",
    [
        ("DEEPSPEED", 2, False, "DeepSpeed is not supported"),
        ("FSDP", 1, False, "FSDP1 is not supported"),
        ("FSDP", 2, True, "lora=true under FSDP"),
    ],
)
def test_unsupported_distributed_setups_are_refused(monkeypatch, tmp_path, kind, version, lora, match):
    import accelerate
    from accelerate.utils import DistributedType

    from kale.train.config import TrainConfig
    from kale.train.errors import KaleTrainError

    class FakeAccelerator:
        def __init__(self, **kw):
            self.distributed_type = getattr(DistributedType, kind)
            self.state = type("S", (), {"fsdp_plugin": type("P", (), {"fsdp_version": version})})

    monkeypatch.setattr(accelerate, "Accelerator", FakeAccelerator)
    cfg = TrainConfig(data="r.parquet", model="m", output_dir=str(tmp_path), lora=lora)
    with pytest.raises(KaleTrainError, match=match):
        train(cfg)


def test_accelerate_fsdp_config_selects_fsdp2(monkeypatch):
    """What `accelerate launch --config_file configs/train/accelerate_fsdp.yaml` hands the
    processes: FSDP2, full shard, transformer-layer wrapping, bf16."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import FullyShardedDataParallelPlugin, prepare_multi_gpu_env

    path = Path(__file__).parents[1] / "configs" / "train" / "accelerate_fsdp.yaml"
    args = launch_command_parser().parse_args(["--config_file", str(path), "x.py"])
    args = _validate_launch_command(args)[0]
    assert args.use_fsdp and args.num_processes == 8 and args.mixed_precision == "bf16"
    for key, value in prepare_multi_gpu_env(args).items():
        monkeypatch.setenv(key, value)
    plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
    assert plugin.auto_wrap_policy.__name__ == "transformer_auto_wrap_policy"
    assert not plugin.cpu_ram_efficient_loading
