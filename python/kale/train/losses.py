"""Knowledge-aware losses over answer tokens: reference (chunked PyTorch) and naive versions.

Notation. ``hidden_p`` are the final hidden states of the branch *without* the rationale (the
one that is trained), ``hidden_q`` those of the branch *with* the rationale (the target, never
differentiated). With head weights ``W`` (``weight``) and ``W_q`` (``weight_q``, the same tensor
for ``target=self``) and temperature ``T``::

    p = softmax(h_p W^T / T)        q = softmax(h_q W_q^T / T)

    reverse_kl  = KL(p || q) = sum_v p (log p - log q)          (the paper's Eq. 4, default)
    forward_kl  = KL(q || p) = sum_v q (log q - log p)
    jsd(beta)   = beta KL(q || m) + (1 - beta) KL(p || m),  m = beta q + (1 - beta) p

``jsd`` is the generalised JSD of GKD as implemented by TRL's ``generalized_jsd_loss`` and
Liger's fused linear JSD (student = p, teacher = q). Like those, ``beta=0`` means forward KL
and ``beta=1`` reverse KL (the mixture form would be identically zero there).

Every loss returns ``sum over selected rows / normalizer``. The trainer passes the number of
answer tokens of the whole effective batch (all micro-batches and processes of one optimizer
step) so that gradient accumulation gives the same update as one big batch.

The reference computes logits a few rows at a time in float32 and works out the gradients
analytically in the same pass, so nothing of size [tokens x vocab] is kept for backward: peak
memory is the head weight, its float32 gradient and a few [chunk x vocab] buffers.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

Divergence = Literal["reverse_kl", "forward_kl", "jsd"]
DIVERGENCES: tuple[str, ...] = ("reverse_kl", "forward_kl", "jsd")

# Rows per chunk: a trade between scratch memory (about five [rows x vocab] float32 buffers)
# and speed. Every chunk streams the whole head weight ~5 times (two logit matmuls, the
# hidden-state gradient, the read-modify-write of the weight gradient), so small chunks are
# memory-bound: on the 2-core CPU at vocab 152k, N=1024, 32-row chunks took 44 s, 128 rows
# 26 s, 256 rows 23 s. The default allows 384 MiB of scratch (~130 rows at vocab 152k: peak
# ~1.35x the weight+gradient floor) and never more than 256 rows, past which nothing is gained.
# Walking the vocabulary in slices to keep 256-row chunks lean was measured too: recomputing
# the logits made it no faster than small chunks, so it is not used.
DEFAULT_CHUNK_BYTES = 384 * 2**20
MAX_CHUNK_ROWS = 256


def resolve_divergence(divergence: str, beta: float) -> str:
    """Map jsd's endpoints onto the KL they equal (as TRL and Liger do) and check arguments."""
    if divergence not in DIVERGENCES:
        raise ValueError(f"divergence must be one of {DIVERGENCES}, got {divergence!r}")
    if divergence == "jsd":
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"jsd beta must be in [0, 1], got {beta}")
        if beta == 0.0:
            return "forward_kl"
        if beta == 1.0:
            return "reverse_kl"
    return divergence


def select_rows(hidden: Tensor, mask: Tensor | None) -> Tensor:
    """Flatten leading dims to [rows, H] and keep the rows where ``mask`` is true."""
    if mask is None:
        return hidden.reshape(-1, hidden.shape[-1])
    if mask.shape != hidden.shape[:-1]:
        raise ValueError(
            f"mask shape {tuple(mask.shape)} does not match hidden leading dims {tuple(hidden.shape[:-1])}"
        )
    return hidden[mask.to(torch.bool)]


def default_chunk_rows(vocab: int, n_rows: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> int:
    return max(1, min(n_rows, MAX_CHUNK_ROWS, chunk_bytes // (5 * 4 * max(vocab, 1))))


def check_inputs(hidden_p: Tensor, hidden_q: Tensor, weight: Tensor, weight_q: Tensor) -> None:
    if hidden_p.dim() != 2 or hidden_q.dim() != 2:
        raise ValueError("hidden states must be [rows, hidden] after row selection")
    if hidden_p.shape != hidden_q.shape:
        raise ValueError(
            f"p and q branches selected different numbers of answer rows: "
            f"{tuple(hidden_p.shape)} vs {tuple(hidden_q.shape)}"
        )
    if weight.dim() != 2 or weight.shape != weight_q.shape:
        raise ValueError(
            f"head weights must both be [vocab, hidden], got {tuple(weight.shape)} and {tuple(weight_q.shape)}"
        )
    if weight.shape[1] != hidden_p.shape[1]:
        raise ValueError(f"hidden size {hidden_p.shape[1]} != head weight's {weight.shape[1]}")


def _rowdot(a: Tensor, b: Tensor) -> Tensor:
    # Row-wise dot product without allocating a [chunk x vocab] product.
    return torch.bmm(a.unsqueeze(1), b.unsqueeze(2)).reshape(-1)


def divergence_and_grad(z_p: Tensor, z_q: Tensor, divergence: str, beta: float) -> tuple[Tensor, Tensor]:
    """Per-row divergence and its gradient w.r.t. the p logits, computed mostly in place.

    ``z_p`` and ``z_q`` are float32 [rows, V] logits already divided by T; both are consumed.
    d/dz_p of each divergence (s = p the student, t = q the target):
      reverse_kl: p * (log p - log q - KL(p||q))
      forward_kl: p - q
      jsd:        (1 - beta) * p * (log p - log m - KL(p||m))
    """
    logp = z_p.sub_(torch.logsumexp(z_p, dim=-1, keepdim=True))
    logq = z_q.sub_(torch.logsumexp(z_q, dim=-1, keepdim=True))
    p = logp.exp()
    if divergence == "reverse_kl":
        d = logq.neg_().add_(logp)  # log p - log q
        loss = _rowdot(p, d)
        return loss, d.sub_(loss.unsqueeze(1)).mul_(p)
    if divergence == "forward_kl":
        q = logq.exp()
        loss = _rowdot(q, logq.sub_(logp))
        return loss, p.sub_(q)
    # jsd with 0 < beta < 1; log m via logaddexp so it never underflows to -inf.
    q = logq.exp()
    logm = torch.logaddexp(logp + math.log1p(-beta), logq + math.log(beta))
    kl_q = _rowdot(q, logq.sub_(logm))
    d = logp.sub_(logm)  # log p - log m
    kl_p = _rowdot(p, d)
    loss = beta * kl_q + (1.0 - beta) * kl_p
    return loss, d.sub_(kl_p.unsqueeze(1)).mul_(p).mul_(1.0 - beta)


def _normalizer(normalizer: float | Tensor | None, n_rows: int, device) -> Tensor:
    if normalizer is None:
        return torch.tensor(float(max(n_rows, 1)), device=device)
    if isinstance(normalizer, Tensor):
        return normalizer.to(device=device, dtype=torch.float32).reshape(())
    if not normalizer > 0:
        raise ValueError(f"normalizer must be > 0, got {normalizer}")
    return torch.tensor(float(normalizer), device=device)


class _ChunkedLinearKL(torch.autograd.Function):
    """Loss and gradients in one chunked pass; backward only rescales the saved gradients."""

    @staticmethod
    def forward(ctx, h_p, h_q, weight, weight_q, divergence, beta, temperature, chunk, norm):
        n, _ = h_p.shape
        w32 = weight.float()
        # weight_q is None for target=self: one float32 copy of the head serves both branches.
        wq32 = w32 if weight_q is None else weight_q.float()
        inv_t = 1.0 / temperature
        need_w = ctx.needs_input_grad[2]
        grad_h = torch.empty(h_p.shape, dtype=torch.float32, device=h_p.device)
        grad_w = torch.zeros_like(w32) if need_w else None
        total = torch.zeros((), dtype=torch.float32, device=h_p.device)
        for start in range(0, n, chunk):
            hp = h_p[start : start + chunk].float()
            z_p = torch.mm(hp, w32.t()).mul_(inv_t)
            z_q = torch.mm(h_q[start : start + chunk].float(), wq32.t()).mul_(inv_t)
            loss, g = divergence_and_grad(z_p, z_q, divergence, beta)
            total += loss.sum()
            g.mul_(inv_t)  # chain rule through the division by T
            torch.mm(g, w32, out=grad_h[start : start + chunk])
            if need_w:
                grad_w.addmm_(g.t(), hp)
        inv_norm = 1.0 / norm
        ctx.save_for_backward(
            grad_h.mul_(inv_norm).to(h_p.dtype), grad_w.mul_(inv_norm).to(weight.dtype) if need_w else None
        )
        ctx.used = False
        return total * inv_norm

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        if ctx.used:
            raise RuntimeError(
                "linear_kl_loss backward can run once (its gradients are "
                "scaled in place); recompute the loss instead of retain_graph"
            )
        ctx.used = True
        grad_h, grad_w = ctx.saved_tensors
        # In place so the [V, H] gradient is not copied; grad_out is 1 in ordinary training.
        grad_h = grad_h.mul_(grad_out.to(grad_h.dtype))
        if grad_w is not None:
            grad_w = grad_w.mul_(grad_out.to(grad_w.dtype))
        return grad_h, None, grad_w, None, None, None, None, None, None


def reference_linear_kl_loss(
    hidden_p: Tensor,
    hidden_q: Tensor,
    weight: Tensor,
    mask: Tensor | None = None,
    *,
    weight_q: Tensor | None = None,
    divergence: Divergence = "reverse_kl",
    beta: float = 0.5,
    temperature: float = 1.0,
    chunk_size: int | None = None,
    normalizer: float | Tensor | None = None,
) -> Tensor:
    """Chunked float32 PyTorch loss; the CPU path and the oracle for the fused kernel.
    ``chunk_size`` rows at a time (default: see DEFAULT_CHUNK_BYTES)."""
    divergence = resolve_divergence(divergence, beta)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    h_p, h_q = select_rows(hidden_p, mask), select_rows(hidden_q, mask).detach()
    weight_q = None if weight_q is None else weight_q.detach()
    check_inputs(h_p, h_q, weight, weight if weight_q is None else weight_q)
    n = h_p.shape[0]
    norm = _normalizer(normalizer, n, h_p.device)
    if n == 0:
        # Keep the graph connected so backward still yields (zero) gradients.
        return (h_p.sum() + weight.sum()) * 0.0
    chunk = chunk_size or default_chunk_rows(weight.shape[0], n)
    if chunk < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk}")
    return _ChunkedLinearKL.apply(h_p, h_q, weight, weight_q, divergence, beta, temperature, chunk, norm)


def naive_linear_kl_loss(
    hidden_p: Tensor,
    hidden_q: Tensor,
    weight: Tensor,
    mask: Tensor | None = None,
    *,
    weight_q: Tensor | None = None,
    divergence: Divergence = "reverse_kl",
    beta: float = 0.5,
    temperature: float = 1.0,
    normalizer: float | Tensor | None = None,
) -> Tensor:
    """Full [rows x vocab] logits and autograd: the baseline for benchmarks and, in float64,
    the test oracle (written with log_softmax/kl_div, independent of the analytic gradients)."""
    divergence = resolve_divergence(divergence, beta)
    h_p, h_q = select_rows(hidden_p, mask), select_rows(hidden_q, mask).detach()
    weight_q = weight if weight_q is None else weight_q
    check_inputs(h_p, h_q, weight, weight_q)
    dtype = torch.float64 if h_p.dtype == torch.float64 else torch.float32
    logp = torch.log_softmax((h_p.to(dtype) @ weight.to(dtype).t()) / temperature, dim=-1)
    with torch.no_grad():
        logq = torch.log_softmax((h_q.to(dtype) @ weight_q.detach().to(dtype).t()) / temperature, dim=-1)
    kl = lambda a, b: (a.exp() * (a - b)).sum(-1)  # noqa: E731  KL(a || b) from log-probs
    if divergence == "reverse_kl":
        rows = kl(logp, logq)
    elif divergence == "forward_kl":
        rows = kl(logq, logp)
    else:
        logm = torch.logsumexp(torch.stack([logp + math.log1p(-beta), logq + math.log(beta)]), 0)
        rows = beta * kl(logq, logm) + (1.0 - beta) * kl(logp, logm)
    return rows.sum() / _normalizer(normalizer, h_p.shape[0], h_p.device).to(dtype)


def triton_available() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def linear_kl_loss(
    hidden_p: Tensor,
    hidden_q: Tensor,
    weight: Tensor,
    mask: Tensor | None = None,
    *,
    implementation: Literal["auto", "reference", "fused", "naive"] = "auto",
    **kwargs,
) -> Tensor:
    """The knowledge-aware loss; ``auto`` picks the fused Triton kernel for CUDA tensors when
    triton is installed and the chunked reference otherwise. Keyword arguments are those of
    :func:`reference_linear_kl_loss`."""
    if implementation == "auto":
        implementation = "fused" if hidden_p.is_cuda and triton_available() else "reference"
    if implementation == "reference":
        return reference_linear_kl_loss(hidden_p, hidden_q, weight, mask, **kwargs)
    if implementation == "naive":
        kwargs.pop("chunk_size", None)
        return naive_linear_kl_loss(hidden_p, hidden_q, weight, mask, **kwargs)
    if implementation == "fused":
        from kale.train.kernels.fused_linear_kl import fused_linear_kl_loss

        return fused_linear_kl_loss(hidden_p, hidden_q, weight, mask, **kwargs)
    raise ValueError(f"implementation must be auto|reference|fused|naive, got {implementation!r}")
