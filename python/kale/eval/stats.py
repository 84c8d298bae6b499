"""Accuracy with seeded bootstrap confidence intervals, and paired comparisons of two runs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from kale.exceptions import KaleValueError


def bootstrap_ci(
    values: Sequence[float], n_resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
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


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value: under "neither run is better", each question that
    one run gets right and the other wrong is a fair coin (a binomial test on the discordant
    pairs)."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def paired_difference(a: Sequence[bool], b: Sequence[bool], n_resamples: int = 1000, seed: int = 0) -> dict:
    """Accuracy of b minus accuracy of a on the same questions (a[i] and b[i] are the two
    runs' correctness on question i): the difference, its paired percentile-bootstrap 95 %
    interval (questions resampled, both runs together), the discordant counts and the exact
    McNemar p-value."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise KaleValueError(f"paired runs need the same questions, got {x.size} and {y.size}")
    a_only, b_only = int(((x == 1) & (y == 0)).sum()), int(((x == 0) & (y == 1)).sum())
    lo, hi = bootstrap_ci(y - x, n_resamples, seed)
    return {
        "diff": float((y - x).mean()) if x.size else float("nan"),
        "ci95": [lo, hi],
        "n": int(x.size),
        "a_only": a_only,
        "b_only": b_only,
        "mcnemar_p": mcnemar_exact(a_only, b_only),
    }
