"""How sure a per-user metric is: bootstrap intervals and a paired test between two models.

Metrics here are means over users of a per-user value (HR@K, NDCG@K), so users are the unit
of resampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Interval:
    """A mean with its two-sided bootstrap percentile interval."""

    mean: float
    low: float
    high: float


def bootstrap_interval(
    values: npt.ArrayLike, level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> Interval:
    """Return the mean of per-user ``values`` and its percentile bootstrap interval.

    Parameters
    ----------
    values : array_like
        One value per user.
    level : float
        Coverage of the interval.
    n_boot : int
        Bootstrap resamples of the users.
    seed : int
        Seed of the resampling.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    means = _resampled_means(x, n_boot, seed)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(x.mean()), float(low), float(high))


@dataclass(frozen=True)
class PairedResult:
    """Per-user difference ``a − b``: its mean, interval and a two-sided p-value."""

    mean_difference: float
    interval: Interval
    p_value: float


def paired_test(
    a: npt.ArrayLike, b: npt.ArrayLike, n_perm: int = 5000, seed: int = 0
) -> PairedResult:
    """Compare two models on the same users with a sign-flip permutation test.

    Under the null hypothesis the two models are exchangeable for every user, so each per-user
    difference is as likely to have either sign; the p-value is the share of random sign
    flips whose mean difference is at least as far from zero as the observed one.
    """
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if diff.ndim != 1 or diff.size == 0:
        raise ValueError("paired_test needs two equally long, non-empty per-user arrays")
    rng = np.random.default_rng(seed)
    observed = abs(diff.mean())
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n_perm, diff.size))
    flipped = np.abs((signs * diff).mean(axis=1))
    p_value = (1 + int((flipped >= observed - 1e-12).sum())) / (n_perm + 1)
    return PairedResult(float(diff.mean()), bootstrap_interval(diff, seed=seed), p_value)


def _resampled_means(x: FloatArray, n_boot: int, seed: int) -> FloatArray:
    rng = np.random.default_rng(seed)
    # Resample in chunks so thousands of users × thousands of resamples stay small in memory.
    out = np.empty(n_boot)
    chunk = max(1, 2_000_000 // max(x.size, 1))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, x.size, size=(stop - start, x.size))
        out[start:stop] = x[idx].mean(axis=1)
    return out
