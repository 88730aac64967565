"""Training negatives under the two named protocols, vectorised over users.

``strict`` (default) excludes only the user's training positives, so nothing the model trains on
depends on held-out items. ``legacy`` also excludes the validation and test items, as the FedRAP
and PFedRec reference code do; that leaks the held-out items (they are never pushed down), and is
offered only to reproduce published figures.
"""

from __future__ import annotations

import numpy as np

from fedrec.data.csr import concat_ranges, offsets
from fedrec.data.types import IntArray, SplitData
from fedrec.rng import Stream, uniform


def excluded_items(split: SplitData, users: IntArray, protocol: str) -> tuple[IntArray, IntArray]:
    """Return, per user, the sorted items its training negatives must avoid (CSR form).

    Parameters
    ----------
    split : SplitData
        The dataset split.
    users : IntArray
        Global user ids.
    protocol : {"strict", "legacy"}
        Which items are off limits.

    Returns
    -------
    indptr, items : IntArray
        CSR over ``users``; items sorted ascending within each user.
    """
    starts, ends = split.train_indptr[users], split.train_indptr[users + 1]
    counts = ends - starts
    train = split.train_items[concat_ranges(starts, counts)]
    owner = np.repeat(np.arange(len(users)), counts)
    if protocol == "strict":
        return offsets(counts), train
    if protocol != "legacy":
        raise ValueError(f"unknown protocol '{protocol}'; known: ['legacy', 'strict']")
    held = np.stack([split.val_items[users], split.test_items[users]], axis=1).ravel()
    owner = np.concatenate([owner, np.repeat(np.arange(len(users)), 2)])
    items = np.concatenate([train, held])
    order = np.lexsort((items, owner))
    owner, items = owner[order], items[order]
    keep = np.ones(len(items), dtype=bool)
    keep[1:] = (owner[1:] != owner[:-1]) | (items[1:] != items[:-1])
    return offsets(np.bincount(owner[keep], minlength=len(users))), items[keep]


def sample_negatives(
    n_items: int,
    excl_indptr: IntArray,
    excl_items: IntArray,
    draws_per_user: IntArray,
    keys: tuple[int, ...],
    users: IntArray,
) -> IntArray:
    """Draw items uniformly from each user's complement of its excluded set, with replacement.

    The k-th allowed item of a user is ``k + #{excluded e : e - rank(e) <= k}``, found with one
    ``searchsorted`` over all users at once.

    Parameters
    ----------
    n_items : int
        Size of the item catalogue.
    excl_indptr, excl_items : IntArray
        Sorted excluded items per user (CSR over ``users``).
    draws_per_user : IntArray
        Number of negatives to draw for each user.
    keys : tuple of int
        Leading hash coordinates (seed, round); the user id and draw index are appended.
    users : IntArray
        Global ids of the users, so a user's draws do not depend on its cohort.

    Returns
    -------
    IntArray
        Flat array of items, grouped by user in the order of ``users``.
    """
    n_excl = np.diff(excl_indptr)
    allowed = n_items - n_excl
    if np.any((allowed <= 0) & (draws_per_user > 0)):
        raise ValueError("a user has interacted with every item: no negative can be drawn")
    owner = np.repeat(np.arange(len(users)), draws_per_user)
    position = np.arange(len(owner)) - np.repeat(offsets(draws_per_user)[:-1], draws_per_user)
    u = uniform(*keys, Stream.NEGATIVES, users[owner], position)
    k = np.minimum((u * allowed[owner]).astype(np.int64), allowed[owner] - 1)
    rank_in_user = np.arange(len(excl_items)) - np.repeat(excl_indptr[:-1], n_excl)
    excl_owner = np.repeat(np.arange(len(users)), n_excl)
    # Shift keys by owner so one global searchsorted serves every user.
    stride = n_items + 1
    adjusted = excl_owner * stride + (excl_items - rank_in_user)
    skipped = np.searchsorted(adjusted, owner * stride + k, side="right") - excl_indptr[owner]
    return np.asarray(k + skipped, dtype=np.int64)
