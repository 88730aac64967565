"""What a FedRAP client does to its upload to leak less: leakage mitigations and local DP.

The rows a client uploads reveal what it trained on (its positives and sampled negatives), and
their changes reveal more. ``leakage.mitigation`` picks the rows (``touched`` uploads them as
they are, the default):

* ``decoys``: ``decoy_ratio`` × as many random other rows, each changed by a copy of the change
  of one of the client's own positives (``s_u·G_r + (v_j − s_u·G_j)``), so decoys look like
  positives in both which rows and how they moved;
* ``fixed``: exactly ``fixed_rows`` rows: the touched ones padded with such decoys, or a random
  subset of them when there are more (the rest count as untouched, ``s_u·G``);
* ``dense``: every row, untouched ones at their exact value ``s_u·G_r`` (no change to the model);
* ``subset``: the same ``subset_rows`` rows for every user, a public draw from the seed and the
  round alone, so *which* rows arrive says nothing about the user; untouched ones at ``s_u·G_r``,
  trained rows outside the subset not uploaded (they count as untouched: the model loses them).

Decoys and truncation change what the server aggregates (HR@10 pays for them). Then, in local
client-level DP (``client_dp.mode=local``), the client clips its update and adds Gaussian noise
to every entry, which makes the upload dense (:mod:`fedrec.privacy.client_level`); under
``subset`` the noise goes on the subset's rows only, since the rows are chosen without the data.
"""

from __future__ import annotations

import numpy as np
import torch

from fedrec.aggregation.updates import UserUpdates
from fedrec.algorithms.base import TrainOptions
from fedrec.algorithms.fedrap.cohort import CohortUpdate
from fedrec.algorithms.fedrap.upload import as_user_updates
from fedrec.audit.report import positives
from fedrec.config.client_dp import LeakageConfig
from fedrec.data.types import IntArray, SplitData
from fedrec.privacy.client_level import clip_updates, noisy_dense, noisy_rows
from fedrec.rng import uniform

_DECOY_STREAM = 0x1EA4  # a stream of its own, apart from fedrec.rng.Stream's
_NOISE_STREAM = 0xD9
_SUBSET_STREAM = 0x5B5E7


def protect_uploads(
    update: CohortUpdate,
    item_global: torch.Tensor,
    users: IntArray,
    split: SplitData,
    leakage: LeakageConfig,
    options: TrainOptions,
    keys: tuple[int, int],
) -> CohortUpdate:
    """Return the cohort's uploads after the mitigation and local DP (unchanged when off)."""
    if leakage.mitigation == "touched" and options.dp_clip_norm <= 0:
        return update
    g = item_global.numpy()
    uploads = as_user_updates(update, torch.ones(len(users), dtype=torch.float64))
    if leakage.mitigation != "touched":
        liked = positives(split, users)[uploads.owners(), uploads.rows]
        uploads = mitigate(uploads, g, users, leakage, keys, liked)
    if options.dp_clip_norm > 0:
        uploads, _ = clip_updates(uploads, g, options.dp_clip_norm)
        rng = np.random.default_rng([keys[0], _NOISE_STREAM, keys[1], int(users[0])])
        if leakage.mitigation == "subset":
            uploads = noisy_rows(uploads, options.dp_noise_std, rng)
        else:
            uploads = noisy_dense(uploads, g, options.dp_noise_std, rng)
    return CohortUpdate(
        row_user=torch.from_numpy(uploads.owners()),
        row_item=torch.from_numpy(uploads.rows),
        global_rows=torch.from_numpy(np.ascontiguousarray(uploads.values)),
        untouched_scale=torch.from_numpy(uploads.scales).to(update.untouched_scale.dtype),
        local_scale=update.local_scale,
        loss=update.loss,
        epochs=update.epochs,
    )


def mitigate(
    uploads: UserUpdates,
    item_global: np.ndarray,
    users: IntArray,
    leakage: LeakageConfig,
    keys: tuple[int, int],
    liked: np.ndarray | None = None,
) -> UserUpdates:
    """Return the uploads with the rows ``leakage.mitigation`` asks for (see the module doc).

    ``liked`` marks the uploaded rows that are the user's positives (decoys copy their changes);
    ``None`` lets decoys copy any of the user's changes.
    """
    n_items = len(item_global)
    touched = np.zeros((uploads.n_users, n_items), dtype=bool)
    touched[uploads.owners(), uploads.rows] = True
    if leakage.mitigation == "subset":
        subset = public_rows(n_items, leakage.subset_rows, keys)
        owner = np.repeat(np.arange(uploads.n_users), len(subset))
        rows = np.tile(subset, uploads.n_users)
    else:
        owner, rows = _chosen_rows(uploads, touched, users, leakage, keys)
    values = _decoy_values(uploads, item_global, (owner, rows), touched, leakage, keys, liked)
    new_counts = np.bincount(owner, minlength=uploads.n_users)
    return UserUpdates(
        offsets=np.concatenate([[0], np.cumsum(new_counts)]).astype(np.int64),
        rows=rows.astype(np.int64),
        values=values,
        scales=uploads.scales,
        weights=uploads.weights,
    )


def public_rows(n_items: int, size: int, keys: tuple[int, int]) -> np.ndarray:
    """Return ``size`` distinct rows drawn from ``(seed, round)`` alone, sorted: no user data."""
    priority = uniform(keys[0], _SUBSET_STREAM, keys[1], np.arange(n_items))
    return np.sort(np.argsort(priority, kind="stable")[: min(size, n_items)]).astype(np.int64)


def _chosen_rows(
    uploads: UserUpdates,
    touched: np.ndarray,
    users: IntArray,
    leakage: LeakageConfig,
    keys: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Per user, its touched rows first (random order), then decoys, up to the wanted count."""
    n_items = touched.shape[1]
    wanted = _rows_wanted(np.diff(uploads.offsets), n_items, leakage)
    priority = uniform(keys[0], _DECOY_STREAM, keys[1], users[:, None], np.arange(n_items))
    order = np.argsort(-(priority + touched), axis=1, kind="stable")
    keep = np.arange(n_items)[None, :] < wanted[:, None]
    owner, rank = np.nonzero(keep)
    return owner, order[owner, rank]


def _rows_wanted(counts: np.ndarray, n_items: int, leakage: LeakageConfig) -> np.ndarray:
    if leakage.mitigation == "dense":
        return np.full(len(counts), n_items)
    if leakage.mitigation == "fixed":
        return np.full(len(counts), min(leakage.fixed_rows, n_items))
    extra = np.rint(leakage.decoy_ratio * counts).astype(np.int64)
    return np.minimum(counts + extra, n_items)


def _decoy_values(
    uploads: UserUpdates,
    item_global: np.ndarray,
    kept: tuple[np.ndarray, np.ndarray],
    touched: np.ndarray,
    leakage: LeakageConfig,
    keys: tuple[int, int],
    liked: np.ndarray | None,
) -> np.ndarray:
    """Kept touched rows keep their value; decoys get ``s_u·G_r`` plus one of u's changes."""
    owner, rows = kept
    out = uploads.scales[owner, None] * item_global[rows].astype(np.float64)
    where = np.full(touched.shape, -1, dtype=np.int64)
    where[uploads.owners(), uploads.rows] = np.arange(len(uploads.rows))
    real = touched[owner, rows]
    out[real] = uploads.values[where[owner[real], rows[real]]]
    decoy = ~real
    if leakage.mitigation in ("dense", "subset") or not decoy.any():
        return np.asarray(out, dtype=np.float32)
    source = _sources(uploads, liked, owner[decoy], rows[decoy], keys)
    ok = source >= 0
    src = source[ok]
    change = (
        uploads.values[src]
        - uploads.scales[uploads.owners()[src], None] * item_global[uploads.rows[src]]
    )
    idx = np.flatnonzero(decoy)[ok]
    out[idx] += change
    return np.asarray(out, dtype=np.float32)


def _sources(
    uploads: UserUpdates,
    liked: np.ndarray | None,
    owner: np.ndarray,
    rows: np.ndarray,
    keys: tuple[int, int],
) -> np.ndarray:
    """Pick, per decoy, one of its user's liked rows (any row if none): an entry id, or −1."""
    pool = liked if liked is not None and liked.any() else np.ones(len(uploads.rows), bool)
    pool_ids = np.flatnonzero(pool)
    pool_owner = uploads.owners()[pool_ids]
    counts = np.bincount(pool_owner, minlength=uploads.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    draw = uniform(keys[0], _DECOY_STREAM + 1, keys[1], owner, rows)
    pick = starts[owner] + (draw * counts[owner]).astype(np.int64)
    return np.where(counts[owner] > 0, pool_ids[np.minimum(pick, len(pool_ids) - 1)], -1)
