"""The fused Triton linear-KL kernel, interpreted on the CPU, against the reference.

TRITON_INTERPRET must be set before the kernels are decorated (triton reads it in
``@triton.jit``), so this module sets it before importing the kernel module and reloads the
module if something imported it earlier without the interpreter.
"""

from __future__ import annotations

import importlib
import os

import pytest

os.environ["TRITON_INTERPRET"] = "1"
torch = pytest.importorskip("torch")
pytest.importorskip("triton", reason="triton is not installed; the fused kernel is untestable")

from triton.runtime.interpreter import InterpretedFunction  # noqa: E402

import kale.train.kernels.fused_linear_kl as fused_mod  # noqa: E402
from kale.train.losses import reference_linear_kl_loss  # noqa: E402
from loss_runs import run_loss  # noqa: E402

if not isinstance(fused_mod._stats_kernel, InterpretedFunction):
    fused_mod = importlib.reload(fused_mod)
fused = fused_mod.fused_linear_kl_loss

DIVS = ["reverse_kl", "forward_kl", "jsd"]
TOL = {torch.float32: dict(rtol=2e-4, atol=2e-6), torch.bfloat16: dict(rtol=2e-2, atol=2e-3)}


def _data(seed, n, h, v, dtype=torch.float32, close=True):
    g = torch.Generator().manual_seed(seed)
    hp = torch.randn(n, h, generator=g)
    hq = hp + 0.2 * torch.randn(n, h, generator=g) if close else torch.randn(n, h, generator=g)
    w = torch.randn(v, h, generator=g) / h**0.5 * 2
    return hp.to(dtype), hq.to(dtype), w.to(dtype)


def _check(got, want, dtype=torch.float32):
    for name, x, y in zip(("loss", "grad_h", "grad_w"), got, want):
        torch.testing.assert_close(x, y, **TOL[dtype], msg=lambda m, name=name: f"{name}: {m}")


@pytest.mark.parametrize("div", DIVS)
@pytest.mark.parametrize("shape", [(37, 24, 203), (1, 5, 17), (16, 64, 64)])
def test_fused_matches_reference_odd_shapes(div, shape):
    hp, hq, w = _data(0, *shape)
    kw = dict(divergence=div, beta=0.3, temperature=0.7, normalizer=5.0)
    _check(run_loss(fused, hp, hq, w, **kw), run_loss(reference_linear_kl_loss, hp, hq, w, **kw))


@pytest.mark.parametrize("div", DIVS)
def test_masked_rows_and_temperature(div):
    hp, hq, w = _data(1, 2 * 11, 20, 77)
    hp, hq = hp.reshape(2, 11, 20), hq.reshape(2, 11, 20)
    mask = torch.rand(2, 11, generator=torch.Generator().manual_seed(2)) > 0.4
    kw = dict(divergence=div, temperature=2.5)
    got = run_loss(fused, hp, hq, w, mask, **kw)
    _check(got, run_loss(reference_linear_kl_loss, hp, hq, w, mask, **kw))
    assert torch.all(got[1][~mask] == 0)


def test_same_result_for_any_tiling():
    hp, hq, w = _data(3, 21, 18, 150)
    base = run_loss(fused, hp, hq, w, divergence="jsd", beta=0.6)
    for opts in (
        dict(block_v=16, splits=1),
        dict(block_v=64, splits=3),
        dict(block_m=32, grad_chunk_bytes=21 * 4 * 16),
    ):
        got = run_loss(fused, hp, hq, w, divergence="jsd", beta=0.6, **opts)
        for x, y in zip(got, base):
            torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-7)


def test_frozen_target_head_and_no_grad_for_q():
    hp, hq, w = _data(4, 9, 16, 40, close=False)
    wq = w + 0.1
    a, b, c = hp.clone().requires_grad_(), w.clone().requires_grad_(), hq.clone().requires_grad_()
    loss = fused(a, c, b, weight_q=wq)
    loss.backward()
    assert c.grad is None
    want = run_loss(reference_linear_kl_loss, hp, hq, w, weight_q=wq)
    _check((loss.detach(), a.grad, b.grad), want)


def test_bf16_inputs_accumulate_in_fp32():
    hp, hq, w = _data(5, 19, 32, 96, dtype=torch.bfloat16)
    got = run_loss(fused, hp, hq, w)
    want = run_loss(reference_linear_kl_loss, hp, hq, w)
    _check(got, want, torch.bfloat16)
    assert got[2].abs().max() > 0  # p ~ q: the gradient did not vanish in bf16


def test_accumulation_1x8_equals_8x1():
    sizes = [2, 3, 1, 4, 2, 1, 3, 2]
    hp, hq, w = _data(6, sum(sizes), 16, 50)
    total = float(sum(sizes))
    big = run_loss(fused, hp, hq, w, normalizer=total)
    a, b = hp.clone().requires_grad_(), w.clone().requires_grad_()
    loss, start = 0.0, 0
    for s in sizes:
        part = fused(a[start : start + s], hq[start : start + s], b, normalizer=total)
        part.backward()
        loss += part.item()
        start += s
    assert abs(loss - big[0].item()) < 1e-5
    torch.testing.assert_close(a.grad, big[1], rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(b.grad, big[2], rtol=1e-5, atol=1e-7)


def test_hidden_dtype_differs_from_head_dtype():
    # Under autocast the hidden states can be bf16 while the head stays fp32.
    hp, hq, w = _data(7, 10, 16, 33)
    a = hp.bfloat16().requires_grad_()
    b = w.clone().requires_grad_()
    loss = fused(a, hq.bfloat16(), b)
    loss.backward()
    assert a.grad.dtype == torch.bfloat16 and b.grad.dtype == torch.float32
    want = run_loss(reference_linear_kl_loss, hp.bfloat16().float(), hq.bfloat16().float(), w)
    _check((loss.detach(), a.grad.float(), b.grad), want, torch.bfloat16)
