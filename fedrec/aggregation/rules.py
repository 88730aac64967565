"""Aggregation rules over per-user sparse updates: means, coordinate-wise robust rules, Krum.

Every rule sees each user's full local matrix ``C_u`` (rebuilt exactly from its sparse update,
see :mod:`fedrec.aggregation.updates`) but never materialises all of them at once: users'
matrices are rebuilt for blocks of item rows (:func:`row_blocks`), so memory stays
``U × block × dim``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from fedrec.aggregation.updates import UserUpdates

_BLOCK_BYTES = 64 * 2**20


def row_blocks(updates: UserUpdates, item_global: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(item slice, C_u on those items for every user, shape (U, b, dim))``, float64."""
    n_items, dim = item_global.shape
    block = max(1, _BLOCK_BYTES // max(1, updates.n_users * dim * 8))
    order = np.argsort(updates.rows, kind="stable")
    rows, owners = updates.rows[order], updates.owners()[order]
    scales = updates.scales[:, None, None]
    for lo in range(0, n_items, block):
        hi = min(lo + block, n_items)
        a, b = np.searchsorted(rows, [lo, hi])
        out = scales * item_global[None, lo:hi].astype(np.float64)
        out[owners[a:b], rows[a:b] - lo] = updates.values[order[a:b]]
        yield slice(lo, hi), out


def weighted_mean(updates: UserUpdates, item_global: np.ndarray) -> np.ndarray:
    """Return ``Σ_u w_u C_u / Σ_u w_u`` without rebuilding any ``C_u``."""
    w = updates.weights
    total = item_global.astype(np.float64) * float((w * updates.scales).sum())
    owners = updates.owners()
    base = updates.scales[owners, None] * item_global[updates.rows]
    np.add.at(total, updates.rows, w[owners, None] * (updates.values - base))
    mean: np.ndarray = (total / w.sum()).astype(np.float32)
    return mean


def per_item_mean(updates: UserUpdates, item_global: np.ndarray) -> np.ndarray:
    """Average each row over the users that updated it; rows nobody touched take the mean.

    A row nobody trained changes only by the users' weight decay, so it takes the weighted
    mean of ``s_u · G`` (what :func:`weighted_mean` gives there).
    """
    out = weighted_mean(updates, item_global).astype(np.float64)
    w = updates.weights[updates.owners()]
    row_weight = np.bincount(updates.rows, weights=w, minlength=len(item_global))
    row_sum = np.zeros(item_global.shape)
    np.add.at(row_sum, updates.rows, w[:, None] * updates.values)
    touched = row_weight > 0
    out[touched] = row_sum[touched] / row_weight[touched, None]
    return out.astype(np.float32)


def coordinate_rule(
    updates: UserUpdates, item_global: np.ndarray, rule: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Apply ``rule`` (reducing axis 0 of a ``(U, b, dim)`` block) to every row block."""
    out = np.empty(item_global.shape, dtype=np.float32)
    for rows, block in row_blocks(updates, item_global):
        out[rows] = rule(block)
    return out


def median(block: np.ndarray) -> np.ndarray:
    """Coordinate-wise median over users (axis 0)."""
    return np.asarray(np.median(block, axis=0))


def trimmed_mean(beta: float) -> Callable[[np.ndarray], np.ndarray]:
    """Return the coordinate-wise mean after dropping the ``⌊β·U⌋`` largest and smallest."""

    def rule(block: np.ndarray) -> np.ndarray:
        n = block.shape[0]
        cut = min(int(np.floor(beta * n)), (n - 1) // 2)
        ordered = np.sort(block, axis=0)
        return np.asarray(ordered[cut : n - cut].mean(axis=0))

    return rule


def pairwise_sq_distances(updates: UserUpdates, item_global: np.ndarray) -> np.ndarray:
    """Return the ``(U, U)`` squared Euclidean distances between the users' local matrices."""
    n = updates.n_users
    gram = np.zeros((n, n))
    for _, block in row_blocks(updates, item_global):
        flat = block.reshape(n, -1)
        gram += flat @ flat.T
    norms = np.diag(gram)
    return np.maximum(norms[:, None] + norms[None, :] - 2 * gram, 0.0)


def krum_select(distances: np.ndarray, num_malicious: int, num_selected: int) -> np.ndarray:
    """Return the users Krum picks: the ``num_selected`` with the lowest Krum scores.

    A user's score is the sum of squared distances to its ``U − f − 2`` nearest other users
    (Blanchard et al., 2017); ``num_selected = 1`` is Krum, more is Multi-Krum.
    """
    n = len(distances)
    neighbours = max(1, n - num_malicious - 2)
    others = np.sort(distances + np.diag(np.full(n, np.inf)), axis=1)[:, : min(neighbours, n - 1)]
    scores = others.sum(axis=1)
    return np.sort(np.argsort(scores, kind="stable")[: min(num_selected, n)])
