"""Chunked linear cross-entropy for the sft, rationale-sft and ka+sft modes.

The KL reference's chunked pass (kale.train.chunked) with the cross-entropy's own chunk: so
[tokens x vocab] never exists. Returns the summed CE over the given rows divided by
``normalizer`` (tokens of the whole effective batch).
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from kale.train.chunked import ChunkedLinearLoss, default_chunk_rows
from kale.train.loss_contract import resolve_normalizer, zero_loss


def _cross_entropy_chunk(labels: Tensor, z: Tensor, rows: slice, w32: Tensor) -> tuple[Tensor, Tensor]:
    y = labels[rows]
    lse = torch.logsumexp(z, dim=-1)
    loss = (lse - z.gather(1, y[:, None]).squeeze(1)).sum()
    g = z.sub_(lse[:, None]).exp_()  # softmax, in place
    g[torch.arange(len(y), device=g.device), y] -= 1.0
    return loss, g


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
    norm = resolve_normalizer(normalizer, n, hidden.device)
    if n == 0:
        return zero_loss(hidden, weight)
    chunk = chunk_size or default_chunk_rows(weight.shape[0], n)
    chunk_loss = functools.partial(_cross_entropy_chunk, labels.long())
    return ChunkedLinearLoss.apply(hidden, weight, chunk_loss, chunk, norm, "linear_cross_entropy")
