"""Reference knowledge-aware losses against a float64 autograd oracle."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kale.train.cross_entropy import linear_cross_entropy  # noqa: E402
from kale.train.losses import (  # noqa: E402
    linear_kl_loss,
    naive_linear_kl_loss,
    reference_linear_kl_loss,
)

DIVS = ["reverse_kl", "forward_kl", "jsd"]


def _inputs(seed, n, h, v, scale=1.0, close=False):
    g = torch.Generator().manual_seed(seed)
    hp = torch.randn(n, h, generator=g, dtype=torch.float64) * scale
    hq = (
        hp + 0.05 * torch.randn(n, h, generator=g, dtype=torch.float64)
        if close
        else torch.randn(n, h, generator=g, dtype=torch.float64) * scale
    )
    w = torch.randn(v, h, generator=g, dtype=torch.float64)
    return hp, hq, w


def _grads(fn, hp, hq, w, dtype, **kw):
    a = hp.detach().to(dtype).clone().requires_grad_()
    b = w.detach().to(dtype).clone().requires_grad_()
    loss = fn(a, hq.to(dtype), b, **kw)
    loss.backward()
    return loss.detach().double(), a.grad.double(), b.grad.double()


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 12),
    h=st.integers(1, 9),
    v=st.integers(2, 40),
    div=st.sampled_from(DIVS),
    beta=st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]),
    temperature=st.sampled_from([0.5, 1.0, 2.0]),
    chunk=st.integers(1, 13),
    close=st.booleans(),
)
def test_reference_matches_float64_oracle(seed, n, h, v, div, beta, temperature, chunk, close):
    hp, hq, w = _inputs(seed, n, h, v, scale=0.7, close=close)
    kw = dict(divergence=div, beta=beta, temperature=temperature, normalizer=3.0)
    want = _grads(naive_linear_kl_loss, hp, hq, w, torch.float64, **kw)
    got = _grads(reference_linear_kl_loss, hp, hq, w, torch.float32, chunk_size=chunk, **kw)
    for x, y in zip(got, want):
        torch.testing.assert_close(x, y, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("div", DIVS)
def test_q_branch_gets_no_gradient_and_mask_selects_rows(div):
    hp, hq, w = _inputs(1, 6, 4, 9)
    hp = hp.float().reshape(2, 3, 4).requires_grad_()
    hq = hq.float().reshape(2, 3, 4).requires_grad_()
    mask = torch.tensor([[True, False, True], [False, True, True]])
    loss = reference_linear_kl_loss(hp, hq, w.float(), mask, divergence=div)
    loss.backward()
    assert hq.grad is None
    assert torch.all(hp.grad[~mask] == 0)
    want = naive_linear_kl_loss(hp.detach()[mask], hq.detach()[mask], w.float(), divergence=div)
    torch.testing.assert_close(loss.detach(), want, rtol=1e-5, atol=1e-6)


def test_identical_branches_give_zero_loss_and_gradient():
    hp, _, w = _inputs(2, 5, 4, 11)
    a = hp.float().requires_grad_()
    loss = reference_linear_kl_loss(a, hp.float(), w.float())
    loss.backward()
    assert abs(loss.item()) < 1e-6 and a.grad.abs().max() < 1e-6


def test_frozen_target_head_is_used_for_q_only():
    hp, hq, w = _inputs(3, 5, 4, 11)
    wq = w + 0.3
    a, b = hp.float().requires_grad_(), w.float().requires_grad_()
    loss = reference_linear_kl_loss(a, hq.float(), b, weight_q=wq.float(), temperature=1.5)
    loss.backward()
    a2, b2 = hp.clone().requires_grad_(), w.clone().requires_grad_()
    want = naive_linear_kl_loss(a2, hq, b2, weight_q=wq, temperature=1.5)
    want.backward()
    torch.testing.assert_close(loss.double(), want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(b.grad.double(), b2.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("div", DIVS)
def test_accumulation_1x8_equals_8x1(div):
    """Eight micro-batches normalised by the whole effective batch's token count give the
    same loss and gradients as one batch of eight."""
    sizes = [3, 1, 4, 2, 5, 1, 2, 3]
    hp, hq, w = _inputs(4, sum(sizes), 6, 17)
    hp, hq, w = hp.float(), hq.float(), w.float()
    total = float(sum(sizes))
    big_a, big_w = hp.clone().requires_grad_(), w.clone().requires_grad_()
    big = linear_kl_loss(big_a, hq, big_w, divergence=div, normalizer=total)
    big.backward()
    acc_a, acc_w = hp.clone().requires_grad_(), w.clone().requires_grad_()
    acc, start = 0.0, 0
    for s in sizes:
        part = linear_kl_loss(acc_a[start : start + s], hq[start : start + s], acc_w, divergence=div, normalizer=total)
        part.backward()
        acc += part.item()
        start += s
    assert abs(acc - big.item()) < 1e-5
    torch.testing.assert_close(acc_a.grad, big_a.grad, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(acc_w.grad, big_w.grad, rtol=1e-5, atol=1e-7)


def test_bf16_inputs_keep_the_small_gradient_of_nearly_equal_branches():
    hp, hq, w = _inputs(5, 8, 16, 64, close=True)
    want = _grads(naive_linear_kl_loss, hp, hq, w, torch.float64)
    got = _grads(
        reference_linear_kl_loss, hp.bfloat16().double(), hq.bfloat16().double(), w.bfloat16().double(), torch.bfloat16
    )
    # bf16 rounding of the inputs moves the answer, but the gradient keeps its direction.
    cos = torch.nn.functional.cosine_similarity(got[2].flatten(), want[2].flatten(), dim=0)
    assert cos > 0.9, cos


def test_bad_arguments_are_named():
    hp, hq, w = _inputs(6, 4, 3, 5)
    with pytest.raises(ValueError, match="divergence"):
        reference_linear_kl_loss(hp, hq, w, divergence="kl")
    with pytest.raises(ValueError, match="beta"):
        reference_linear_kl_loss(hp, hq, w, divergence="jsd", beta=1.5)
    with pytest.raises(ValueError, match="different numbers of answer rows"):
        reference_linear_kl_loss(hp, hq[:3], w)
    with pytest.raises(ValueError, match="temperature"):
        reference_linear_kl_loss(hp, hq, w, temperature=0.0)


def test_empty_selection_is_zero_with_zero_gradient():
    hp, hq, w = _inputs(7, 4, 3, 5)
    a = hp.float().requires_grad_()
    loss = reference_linear_kl_loss(a, hq.float(), w.float(), torch.zeros(4, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0.0 and torch.all(a.grad == 0)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 10),
    h=st.integers(1, 7),
    v=st.integers(2, 30),
    chunk=st.integers(1, 11),
)
def test_linear_cross_entropy_matches_torch(seed, n, h, v, chunk):
    hp, _, w = _inputs(seed, n, h, v)
    labels = torch.randint(0, v, (n,), generator=torch.Generator().manual_seed(seed))
    a, b = hp.float().requires_grad_(), w.float().requires_grad_()
    loss = linear_cross_entropy(a, b, labels, chunk_size=chunk, normalizer=2.0)
    loss.backward()
    a2, b2 = hp.clone().requires_grad_(), w.clone().requires_grad_()
    want = torch.nn.functional.cross_entropy(a2 @ b2.t(), labels, reduction="sum") / 2.0
    want.backward()
    torch.testing.assert_close(loss.double(), want, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(a.grad.double(), a2.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(b.grad.double(), b2.grad, rtol=1e-4, atol=1e-5)


def test_auto_picks_the_reference_on_cpu():
    hp, hq, w = _inputs(9, 5, 4, 7)
    a = linear_kl_loss(hp.float(), hq.float(), w.float())
    b = reference_linear_kl_loss(hp.float(), hq.float(), w.float())
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="implementation"):
        linear_kl_loss(hp, hq, w, implementation="cuda")


def test_the_kernels_package_imports_no_triton():
    """kale.train.kernels' docstring: only its modules import triton."""
    import subprocess
    import sys

    code = "import sys, kale.train.kernels; assert 'triton' not in sys.modules, 'triton imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_one_chunked_function_serves_ce_and_kl():
    hp, hq, w = _inputs(0, 5, 4, 7)
    kl = reference_linear_kl_loss(hp.requires_grad_(), hq, w)
    ce = linear_cross_entropy(hp, w, torch.tensor([0, 1, 2, 3, 4]))
    assert type(kl.grad_fn).__name__ == type(ce.grad_fn).__name__ == "ChunkedLinearLossBackward"


def test_losses_and_kernel_share_one_contract_and_import_not_each_other():
    """The argument contract lives in kale.train.loss_contract; neither the kernel nor the CE
    reference imports kale.train.losses, and the divergences are named once."""
    import ast
    from pathlib import Path

    import kale.train
    from kale.train import config, divergences, loss_contract

    root = Path(kale.train.__file__).parent
    for module in ("kernels/fused_linear_kl.py", "cross_entropy.py", "loss_contract.py", "chunked.py"):
        tree = ast.parse((root / module).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "kale.train.losses" not in imported, module
    assert config.DIVERGENCES is loss_contract.DIVERGENCES is divergences.DIVERGENCES
