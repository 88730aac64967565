"""The L1 proximal step that makes the global item view sparse, with exact zeros.

``prox_τ(x) = sign(x) · max(|x| − τ, 0)`` is the proximal operator of ``τ‖x‖₁``: entries within
``τ`` of zero become exactly zero, the others shrink by ``τ``. With a target density ρ the round's
``τ`` is the smallest that leaves at most ``ρ`` of the entries non-zero (the magnitude of the
``⌊ρ·size⌋ + 1``-th largest entry), never below the fixed threshold. ``hard`` thresholding
(keep the surviving entries unshrunk) is offered for comparison. With ``scope="row"`` the budget
holds in every row instead: each item keeps its ``⌊ρ·d⌋`` largest entries, so no item loses its
whole embedding to more popular ones.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sparsified:
    """A soft-thresholded matrix and the threshold that was used."""

    matrix: np.ndarray
    threshold: float


def soft_threshold(matrix: np.ndarray, threshold: float | np.ndarray) -> np.ndarray:
    """Return ``sign(x) · max(|x| − threshold, 0)`` elementwise (float32).

    ``threshold`` is a scalar or broadcasts against ``matrix`` (e.g. one per row).
    """
    tau = np.asarray(threshold, dtype=np.float32)
    shrunk = np.maximum(np.abs(matrix) - tau, 0, dtype=np.float32)
    out: np.ndarray = np.copysign(shrunk, matrix).astype(np.float32, copy=False)
    return out


def hard_threshold(matrix: np.ndarray, threshold: float | np.ndarray) -> np.ndarray:
    """Return ``x`` where ``|x| > threshold`` and 0 elsewhere (no shrinkage; float32).

    The projection onto matrices with at most that many non-zeros (iterative hard
    thresholding), for comparison with the L1 proximal step.
    """
    tau = np.asarray(threshold, dtype=np.float32)
    out: np.ndarray = np.where(np.abs(matrix) > tau, matrix, 0).astype(np.float32, copy=False)
    return out


#: ``sparsity.shrink`` names to thresholding functions.
SHRINKS = {"soft": soft_threshold, "hard": hard_threshold}


def threshold_for_density(matrix: np.ndarray, target: float) -> float:
    """Return the smallest τ for which ``soft_threshold(matrix, τ)`` has density ≤ ``target``."""
    keep = int(np.floor(target * matrix.size))
    if keep >= matrix.size:
        return 0.0
    magnitudes = np.abs(matrix).ravel()
    # Entries with |x| ≤ τ vanish: τ = the (keep + 1)-th largest magnitude keeps at most `keep`.
    return float(np.partition(magnitudes, matrix.size - keep - 1)[matrix.size - keep - 1])


def row_thresholds_for_density(matrix: np.ndarray, target: float) -> np.ndarray:
    """Return one τ per row (shape ``(rows, 1)``): each row keeps at most ``⌊target·d⌋`` entries."""
    cols = matrix.shape[1]
    keep = int(np.floor(target * cols))
    if keep >= cols:
        return np.zeros((matrix.shape[0], 1), dtype=np.float32)
    cut = cols - keep - 1
    tau: np.ndarray = np.partition(np.abs(matrix), cut, axis=1)[:, cut : cut + 1]
    return tau


def per_user_thresholds(
    values: np.ndarray, offsets: np.ndarray, threshold: float, target: float
) -> np.ndarray:
    """Return one threshold per row of ``values``: its user's, each user choosing its own.

    A user's threshold is the smallest τ ≥ ``threshold`` that leaves at most ``target`` of its
    entries non-zero; user ``u`` owns rows ``offsets[u]:offsets[u + 1]``.
    """
    per_user = np.full(len(offsets) - 1, threshold)
    if target < 1:
        for u, (lo, hi) in enumerate(itertools.pairwise(offsets)):
            per_user[u] = max(threshold, threshold_for_density(values[lo:hi], target))
    return np.repeat(per_user, np.diff(offsets))


def scheduled_density(target: float, ramp_rounds: int, server_round: int) -> float:
    """Return round ``server_round``'s density: ``target + (1 − target)(1 − r/R)³`` until R.

    The cubic schedule of gradual pruning (Zhu and Gupta, 2017): fast at first, slow near the
    target; ``ramp_rounds`` R of 0 gives ``target`` from the start.
    """
    if server_round >= ramp_rounds:
        return target
    return target + (1.0 - target) * (1.0 - server_round / ramp_rounds) ** 3


def sparsify(
    matrix: np.ndarray,
    threshold: float,
    target_density: float,
    shrink: str = "soft",
    scope: str = "matrix",
) -> Sparsified:
    """Threshold ``matrix`` by ``threshold``, raised as needed to reach ``target_density``.

    ``shrink`` is ``"soft"`` (the L1 proximal step) or ``"hard"`` (see :data:`SHRINKS`);
    ``scope`` is ``"matrix"`` (one τ for all entries) or ``"row"`` (one τ per row). The returned
    threshold is the one τ, or the smallest of the rows' (what clients then apply to uploads).
    """
    if scope == "row":
        taus = np.maximum(row_thresholds_for_density(matrix, target_density), threshold)
        if not taus.any():
            return Sparsified(matrix.astype(np.float32, copy=False), 0.0)
        return Sparsified(SHRINKS[shrink](matrix, taus), float(taus.min()))
    tau = max(threshold, threshold_for_density(matrix, target_density))
    if tau <= 0:
        return Sparsified(matrix.astype(np.float32, copy=False), 0.0)
    return Sparsified(SHRINKS[shrink](matrix, tau), tau)
