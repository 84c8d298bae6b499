"""The fused Triton kernel compiled for a real GPU, against the chunked reference on that GPU.

test_train_kernel.py checks the kernel's arithmetic under the Triton interpreter on the CPU;
only a GPU runs the compiled code (tensor-core dots, bf16 loads, the split-vocabulary
reduction). Skipped where there is no CUDA device.
"""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton", reason="triton is not installed; the fused kernel is untestable")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device: the compiled kernel runs only on a GPU", allow_module_level=True)
if os.environ.get("TRITON_INTERPRET") == "1":
    pytest.skip("TRITON_INTERPRET=1 would interpret, not compile, the kernel", allow_module_level=True)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kale.train.kernels.fused_linear_kl import fused_linear_kl_loss  # noqa: E402
from kale.train.losses import linear_kl_loss, reference_linear_kl_loss  # noqa: E402
from loss_runs import run_loss  # noqa: E402

DEV = "cuda"
# fp32 operands use tf32x3 dots (about fp32 accuracy); bf16 operands round the logits.
TOL = {torch.float32: dict(rtol=1e-3, atol=1e-5), torch.bfloat16: dict(rtol=3e-2, atol=3e-3)}


def _data(seed, n, h, v, dtype):
    g = torch.Generator(device=DEV).manual_seed(seed)
    hp = torch.randn(n, h, generator=g, device=DEV)
    hq = hp + 0.3 * torch.randn(n, h, generator=g, device=DEV)
    w = torch.randn(v, h, generator=g, device=DEV) / h**0.5 * 2
    return hp.to(dtype), hq.to(dtype), w.to(dtype)


def _reference(hp, hq, w, mask=None, **kw):
    # The oracle runs in fp32 on the same rounded inputs, so only the kernel's own error shows.
    return run_loss(reference_linear_kl_loss, hp.float(), hq.float(), w.float(), mask, **kw)


def _check(got, want, dtype):
    for name, x, y in zip(("loss", "grad_h", "grad_w"), got, want):
        # Gradients are compared relative to their own scale: single entries near zero carry
        # the rounding of the whole row.
        scale = y.abs().max().item() or 1.0
        torch.testing.assert_close(x / scale, y / scale, **TOL[dtype], msg=lambda m, name=name: f"{name}: {m}")


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 300),
    h=st.sampled_from([16, 40, 64, 128, 200]),
    v=st.integers(1, 5000),
    dtype=st.sampled_from([torch.float32, torch.bfloat16]),
    div=st.sampled_from(["reverse_kl", "forward_kl", "jsd"]),
    temperature=st.sampled_from([1.0, 0.7, 2.0]),
    masked=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_compiled_kernel_matches_reference(n, h, v, dtype, div, temperature, masked, seed):
    hp, hq, w = _data(seed, n, h, v, dtype)
    mask = None
    if masked:
        mask = torch.rand(n, device=DEV, generator=torch.Generator(DEV).manual_seed(seed)) > 0.3
    kw = dict(divergence=div, beta=0.4, temperature=temperature)
    _check(run_loss(fused_linear_kl_loss, hp, hq, w, mask, **kw), _reference(hp, hq, w, mask, **kw), dtype)


@pytest.mark.parametrize("v", [49152, 151936])
def test_real_sizes_bf16(v):
    # SmolLM2's and Qwen2's vocabularies with a batch's worth of answer tokens.
    hp, hq, w = _data(1, 2048, 896, v, torch.bfloat16)
    _check(run_loss(fused_linear_kl_loss, hp, hq, w), _reference(hp, hq, w), torch.bfloat16)


def test_auto_picks_fused_on_cuda_and_agrees():
    hp, hq, w = _data(2, 64, 64, 1000, torch.float32)
    _check(run_loss(linear_kl_loss, hp, hq, w), _reference(hp, hq, w), torch.float32)


def test_rows_beyond_int32_offsets():
    # rows * vocab > 2**31: any flat index into a [rows, vocab] space must be 64-bit.
    n, h, v = 16384, 16, 151936
    hp, hq, w = _data(3, n, h, v, torch.bfloat16)
    _check(run_loss(fused_linear_kl_loss, hp, hq, w), _reference(hp, hq, w), torch.bfloat16)
