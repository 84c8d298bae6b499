"""Knowledge-aware losses over answer tokens: the reference (chunked PyTorch), the naive version,
and ``linear_kl_loss``, which dispatches to them or to the fused Triton kernel. All three take
their arguments by one contract (kale.train.loss_contract).

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
analytically in the same pass (kale.train.chunked, shared with the cross-entropy), so nothing
of size [tokens x vocab] is kept for backward: peak memory is the head weight, its float32
gradient and a few [chunk x vocab] buffers.
"""

from __future__ import annotations

import functools
import math
from typing import Literal

import torch
from torch import Tensor

from kale.train.chunked import ChunkedLinearLoss, default_chunk_rows
from kale.train.loss_contract import (
    Divergence,
    check_inputs,
    kl_inputs,
    resolve_divergence,
    resolve_normalizer,
    select_rows,
    zero_loss,
)


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


def _kl_chunk(
    h_q: Tensor, wq32: Tensor | None, divergence: str, beta: float, inv_t: float, z_p: Tensor, rows: slice, w32: Tensor
) -> tuple[Tensor, Tensor]:
    """The KL's chunk of the chunked pass (kale.train.chunked): ``z_p`` are the p logits of
    ``rows``; ``wq32`` the float32 q head, None when it is p's own (``w32``)."""
    z_p.mul_(inv_t)
    z_q = torch.mm(h_q[rows].float(), (w32 if wq32 is None else wq32).t()).mul_(inv_t)
    loss, g = divergence_and_grad(z_p, z_q, divergence, beta)
    return loss.sum(), g.mul_(inv_t)  # chain rule through the division by T


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
    ``chunk_size`` rows at a time (default: see kale.train.chunked.DEFAULT_CHUNK_BYTES)."""
    h_p, h_q, weight_q, divergence = kl_inputs(
        hidden_p, hidden_q, weight, mask, weight_q, divergence, beta, temperature
    )
    n = h_p.shape[0]
    norm = resolve_normalizer(normalizer, n, h_p.device)
    if n == 0:
        return zero_loss(h_p, weight)
    chunk = chunk_size or default_chunk_rows(weight.shape[0], n)
    if chunk < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk}")
    # weight_q is None for target=self: one float32 copy of the head serves both branches.
    wq32 = None if weight_q is None else weight_q.float()
    chunk_loss = functools.partial(_kl_chunk, h_q, wq32, divergence, beta, 1.0 / temperature)
    return ChunkedLinearLoss.apply(h_p, weight, chunk_loss, chunk, norm, "linear_kl_loss")


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
    return rows.sum() / resolve_normalizer(normalizer, h_p.shape[0], h_p.device).to(dtype)


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
