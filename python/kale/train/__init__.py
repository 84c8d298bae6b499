"""Knowledge-aware fine-tuning (KALE Part 2): losses, fused Triton kernel, trainer.

Submodules import torch; this package itself does not, so ``kale train --help`` stays fast.
"""

from __future__ import annotations

__all__ = ["TrainConfig", "linear_kl_loss", "train"]


def __getattr__(name: str):
    if name == "linear_kl_loss":
        from kale.train.losses import linear_kl_loss

        return linear_kl_loss
    if name == "TrainConfig":
        from kale.train.config import TrainConfig

        return TrainConfig
    if name == "train":
        from kale.train.trainer import train

        return train
    raise AttributeError(f"module 'kale.train' has no attribute {name!r}")
