"""Accuracy with seeded bootstrap confidence intervals."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from kale.exceptions import KaleValueError


def bootstrap_ci(values: Sequence[float], n_resamples: int = 1000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values` (0/1 correctness, usually).

    Seeded, so the same predictions always give the same interval in a report.
    """
    if not 0 < level < 1:
        raise KaleValueError(f"level must be in (0, 1), got {level}")
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    # chunks keep memory at ~8 MB whatever the dataset size
    chunk = max(1, 1_000_000 // x.size)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        idx = rng.integers(0, x.size, size=(stop - start, x.size))
        means[start:stop] = x[idx].mean(axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return (float(lo), float(hi))


def metric(values: Sequence[float], n_resamples: int = 1000, seed: int = 0) -> dict:
    """{"value", "ci95", "n"} for a list of per-question scores."""
    x = np.asarray(values, dtype=np.float64)
    lo, hi = bootstrap_ci(x, n_resamples, seed)
    return {"value": float(x.mean()) if x.size else float("nan"), "ci95": [lo, hi], "n": int(x.size)}
