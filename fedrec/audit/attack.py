"""The attack: rank items by what a client uploaded, and score the guess of its positives.

The server knows the global matrix ``G`` it sent and sees, per client, the uploaded rows and the
scale ``s_u`` of the rest, hence each uploaded row's change ``Δ_i = C_u[i] − s_u·G_i``. In
FedRAP a training step moves row ``i`` along the user's head weights, up for a positive and down
for a sampled negative, so a user's changes are nearly collinear and the positives (outnumbered
by their negatives) sit on the other side of the user's mean change ``m_u``. The attack scores
item ``i`` by ``1[i uploaded] + (1 + tanh(p_i / scale_u)) / 2`` with ``p_i = −⟨Δ_i, m_u⟩/‖m_u‖``
and ``scale_u`` the user's median ``|p|``: uploaded rows first, then by that projection (an
untouched row uploaded densely has ``Δ = 0``: the middle). Decoys that copy positives' changes
can outnumber the negatives and flip the mean; ``orientation=-1`` ranks rows moved *with* the
mean first, which is what an attacker who knows the (public) mitigation settings would do.
"""

from __future__ import annotations

import numpy as np

from fedrec.aggregation.updates import UserUpdates


def attack_scores(
    updates: UserUpdates, item_global: np.ndarray, orientation: int = 1
) -> np.ndarray:
    """Return the attack's ``(U, n_items)`` scores in ``[0, 2)`` (see the module docstring)."""
    owners = updates.owners()
    base = updates.scales[owners, None] * item_global[updates.rows].astype(np.float64)
    change = updates.values - base
    mean = np.zeros((updates.n_users, change.shape[1]))
    np.add.at(mean, owners, change)
    direction = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-30)
    projection = -orientation * (change * direction[owners]).sum(axis=1)
    scale = _median_by_owner(np.abs(projection), owners, updates.n_users)
    signal = np.tanh(projection / np.maximum(scale[owners], 1e-30))
    scores = np.zeros((updates.n_users, len(item_global)))
    scores[owners, updates.rows] = 1.0 + 0.5 * (1.0 + signal) * (1.0 - 1e-9)
    return scores


def _median_by_owner(values: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """Return the median of ``values`` per owner (owners sorted ascending), 0 for none."""
    out = np.zeros(n)
    order = np.lexsort((values, owners))
    counts = np.bincount(owners, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = 0.5 * (values[order[lo]] + values[order[hi]])
    return out


def _tied_ranks(scores: np.ndarray) -> np.ndarray:
    """Return 1-based ranks within each row (ascending), ties sharing their mean rank."""
    n_rows, n_cols = scores.shape
    # Scores lie in [0, 2): offsetting rows by 4 sorts every row in one flat array.
    flat = (scores + 4.0 * np.arange(n_rows)[:, None]).ravel()
    ordered = np.sort(flat)
    first = np.searchsorted(ordered, flat, side="left")
    last = np.searchsorted(ordered, flat, side="right") - 1
    within = (first + last) / 2.0 - (np.arange(flat.size) // n_cols) * n_cols
    return np.asarray((within + 1.0).reshape(n_rows, n_cols))


def membership_auc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return each row's ROC AUC of ``scores`` for boolean ``labels`` (ties count one half).

    Rows without a positive or without a negative get NaN.
    """
    if scores.min(initial=0.0) < 0 or scores.max(initial=0.0) >= 4.0:
        raise ValueError("scores must lie in [0, 4)")
    ranks = _tied_ranks(scores)
    pos = labels.sum(axis=1).astype(np.float64)
    neg = labels.shape[1] - pos
    rank_sum = np.where(labels, ranks, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)
    return np.where((pos > 0) & (neg > 0), auc, np.nan)


def precision_at_k(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Return each row's share of positives among its ``k`` top-scored items.

    Ties at the cut are broken by a fixed random order (no item id order leaks through).
    """
    rng = np.random.default_rng(0)
    jitter = rng.random(scores.shape) * 1e-9
    top = np.argpartition(-(scores + jitter), k - 1, axis=1)[:, :k]
    return np.asarray(np.take_along_axis(labels, top, axis=1).mean(axis=1))
