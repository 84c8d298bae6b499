"""The argument contract every knowledge-aware loss implementation shares: the chunked
reference (kale.train.losses), the naive one, and the fused Triton kernel
(kale.train.kernels.fused_linear_kl). Each imports it from here, so they accept and reject
the same arguments and normalise the same way, and none imports another.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from kale.train.divergences import DIVERGENCES, Divergence, resolve_divergence

__all__ = [
    "DIVERGENCES",
    "Divergence",
    "KLInputs",
    "check_inputs",
    "kl_inputs",
    "resolve_divergence",
    "resolve_normalizer",
    "select_rows",
    "zero_loss",
]


def select_rows(hidden: Tensor, mask: Tensor | None) -> Tensor:
    """Flatten leading dims to [rows, H] and keep the rows where ``mask`` is true."""
    if mask is None:
        return hidden.reshape(-1, hidden.shape[-1])
    if mask.shape != hidden.shape[:-1]:
        raise ValueError(
            f"mask shape {tuple(mask.shape)} does not match hidden leading dims {tuple(hidden.shape[:-1])}"
        )
    return hidden[mask.to(torch.bool)]


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


class KLInputs(NamedTuple):
    """The selected rows of both branches (q detached), q's head (None: the same as p's,
    detached otherwise) and the divergence with jsd's endpoints resolved."""

    h_p: Tensor
    h_q: Tensor
    weight_q: Tensor | None
    divergence: str


def kl_inputs(
    hidden_p: Tensor,
    hidden_q: Tensor,
    weight: Tensor,
    mask: Tensor | None,
    weight_q: Tensor | None,
    divergence: str,
    beta: float,
    temperature: float,
) -> KLInputs:
    """The checks and row selection of the chunked reference and the fused kernel, in order."""
    divergence = resolve_divergence(divergence, beta)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    h_p, h_q = select_rows(hidden_p, mask), select_rows(hidden_q, mask).detach()
    weight_q = None if weight_q is None else weight_q.detach()
    check_inputs(h_p, h_q, weight, weight if weight_q is None else weight_q)
    return KLInputs(h_p, h_q, weight_q, divergence)


def resolve_normalizer(normalizer: float | Tensor | None, n_rows: int, device) -> Tensor:
    """What a summed loss is divided by: the given count (the trainer passes the answer tokens
    of the whole effective batch), else the rows of this call."""
    if normalizer is None:
        return torch.tensor(float(max(n_rows, 1)), device=device)
    if isinstance(normalizer, Tensor):
        return normalizer.to(device=device, dtype=torch.float32).reshape(())
    if not normalizer > 0:
        raise ValueError(f"normalizer must be > 0, got {normalizer}")
    return torch.tensor(float(normalizer), device=device)


def zero_loss(hidden: Tensor, weight: Tensor) -> Tensor:
    """The loss of no rows: zero, with the graph kept connected so backward still yields (zero)
    gradients."""
    return (hidden.sum() + weight.sum()) * 0.0
