"""The divergences the knowledge-aware loss can use, by name, and the rule for jsd's beta.

Without torch, so the training configuration checks its fields without importing it; the
formulas are in kale.train.losses.
"""

from __future__ import annotations

from typing import Literal

Divergence = Literal["reverse_kl", "forward_kl", "jsd"]
DIVERGENCES: tuple[str, ...] = ("reverse_kl", "forward_kl", "jsd")


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
