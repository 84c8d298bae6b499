"""Chunked linear cross-entropy for the sft, rationale-sft and ka+sft modes.

Same memory discipline as the KL reference: logits for a few rows at a time in float32,
gradients computed in the same pass, so [tokens x vocab] never exists. Returns the summed CE
over the given rows divided by ``normalizer`` (tokens of the whole effective batch).
"""

from __future__ import annotations

import torch
from torch import Tensor

from kale.train.losses import _normalizer, default_chunk_rows


class _ChunkedLinearCE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, labels, chunk, norm):
        w32 = weight.float()
        need_w = ctx.needs_input_grad[1]
        grad_h = torch.empty(hidden.shape, dtype=torch.float32, device=hidden.device)
        grad_w = torch.zeros_like(w32) if need_w else None
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, hidden.shape[0], chunk):
            h = hidden[start : start + chunk].float()
            y = labels[start : start + chunk]
            z = torch.mm(h, w32.t())
            lse = torch.logsumexp(z, dim=-1)
            total += (lse - z.gather(1, y[:, None]).squeeze(1)).sum()
            g = z.sub_(lse[:, None]).exp_()  # softmax, in place
            g[torch.arange(len(y), device=g.device), y] -= 1.0
            torch.mm(g, w32, out=grad_h[start : start + chunk])
            if need_w:
                grad_w.addmm_(g.t(), h)
        inv = 1.0 / norm
        ctx.save_for_backward(grad_h.mul_(inv).to(hidden.dtype), grad_w.mul_(inv).to(weight.dtype) if need_w else None)
        ctx.used = False
        return total * inv

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        if ctx.used:
            raise RuntimeError("linear_cross_entropy backward can run once")
        ctx.used = True
        grad_h, grad_w = ctx.saved_tensors
        grad_h = grad_h.mul_(grad_out.to(grad_h.dtype))
        if grad_w is not None:
            grad_w = grad_w.mul_(grad_out.to(grad_w.dtype))
        return grad_h, grad_w, None, None, None


def linear_cross_entropy(
    hidden: Tensor,
    weight: Tensor,
    labels: Tensor,
    *,
    chunk_size: int | None = None,
    normalizer: float | Tensor | None = None,
) -> Tensor:
    """Sum of -log softmax(hidden @ weight^T)[label] over rows, divided by ``normalizer``."""
    if hidden.dim() != 2 or labels.shape != hidden.shape[:1]:
        raise ValueError(
            f"need hidden [rows, H] and labels [rows], got {tuple(hidden.shape)} and {tuple(labels.shape)}"
        )
    if labels.numel() and (labels.min() < 0 or labels.max() >= weight.shape[0]):
        raise ValueError("labels out of vocabulary range")
    n = hidden.shape[0]
    norm = _normalizer(normalizer, n, hidden.device)
    if n == 0:
        return (hidden.sum() + weight.sum()) * 0.0
    chunk = chunk_size or default_chunk_rows(weight.shape[0], n)
    return _ChunkedLinearCE.apply(hidden, weight, labels.long(), chunk, norm)
