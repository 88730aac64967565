"""Implicit-feedback filtering and the leave-one-out split, vectorised with numpy."""

from __future__ import annotations

import numpy as np

from fedrec.data.csr import offsets
from fedrec.data.errors import DataFormatError
from fedrec.data.types import FloatArray, IntArray, Interactions, SplitData

# Random keys per (user, item) for the negative sampler are drawn this many at a time.
_CHUNK_ELEMENTS = 1 << 23


def implicit_and_filter(inter: Interactions, min_interactions: int = 10) -> Interactions:
    """Turn ratings into implicit feedback and drop sparse users.

    Keeps rows with ``rating > 0``; of repeated (user, item) pairs keeps the latest one (the
    later row on equal timestamps); drops users with fewer than ``min_interactions`` distinct
    items, in a single pass as the FedRAP reference does (so an item may end up with only one
    or a few users); drops items left without interactions; and re-indexes users and items
    densely, keeping their relative order, with the labels carried along. Rows stay in file
    order.

    Parameters
    ----------
    inter : Interactions
        Raw interactions.
    min_interactions : int, default 10
        Minimum number of distinct items a user needs to be kept.

    Returns
    -------
    Interactions
        The filtered interactions.
    """
    rows = np.flatnonzero(inter.ratings > 0)
    rows = rows[_latest_per_pair(inter.users[rows], inter.items[rows], inter.timestamps[rows])]
    n_users = len(inter.user_labels)
    counts = np.bincount(inter.users[rows], minlength=n_users)
    rows = rows[counts[inter.users[rows]] >= min_interactions]
    kept_users, users = _reindex(inter.users[rows], n_users)
    kept_items, items = _reindex(inter.items[rows], len(inter.item_labels))
    return Interactions(
        users=users,
        items=items,
        timestamps=inter.timestamps[rows],
        ratings=inter.ratings[rows],
        user_labels=[inter.user_labels[u] for u in kept_users],
        item_labels=[inter.item_labels[i] for i in kept_items],
    )


def _reindex(ids: IntArray, n: int) -> tuple[IntArray, IntArray]:
    """Return the ids still present (ascending) and ``ids`` mapped densely onto them."""
    present = np.bincount(ids, minlength=n) > 0
    new_id = np.cumsum(present) - 1
    return np.flatnonzero(present), new_id[ids]


def _latest_per_pair(users: IntArray, items: IntArray, times: FloatArray) -> IntArray:
    """Return the sorted positions of the latest row of every (user, item) pair."""
    order = np.lexsort((np.arange(len(users)), times, items, users))
    u, i = users[order], items[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (u[1:] != u[:-1]) | (i[1:] != i[:-1])
    return np.sort(order[last])


def leave_one_out(
    inter: Interactions, name: str, n_eval_negatives: int = 99, seed: int = 0
) -> SplitData:
    """Hold out each user's latest interaction for test and second latest for validation.

    Interactions are ordered by timestamp, ties broken by row order (the later row is later).
    The rest is training data, sorted ascending per user. Evaluation negatives are
    ``n_eval_negatives`` distinct items per user, drawn uniformly from the items the user never
    interacted with, using ``np.random.default_rng(seed)``.

    Parameters
    ----------
    inter : Interactions
        Deduplicated interactions (see :func:`implicit_and_filter`); every user id in
        ``0..len(user_labels)-1`` needs at least three.
    name : str
        Dataset name stored in the split.
    n_eval_negatives : int, default 99
        Negatives per user shared by validation and test.
    seed : int, default 0
        Seed of the negative sampler.

    Returns
    -------
    SplitData
        The split.

    Raises
    ------
    DataFormatError
        If a user has fewer than three interactions, a (user, item) pair repeats, or a user has
        fewer non-interacted items than ``n_eval_negatives``.
    """
    n_users, n_items = len(inter.user_labels), len(inter.item_labels)
    counts = np.bincount(inter.users, minlength=n_users)
    if n_users == 0 or counts.min() < 3:
        raise DataFormatError(f"{name}: every user needs at least 3 interactions for the split")
    if len(_pair_keys(inter)) != len(inter.users):
        raise DataFormatError(f"{name}: repeated (user, item) pairs; deduplicate before splitting")
    order = np.lexsort((np.arange(len(inter.users)), inter.timestamps, inter.users))
    users, items = inter.users[order], inter.items[order]
    ends = np.cumsum(counts)
    held = np.zeros(len(users), dtype=bool)
    held[ends - 1] = held[ends - 2] = True
    train_items = items[~held][np.lexsort((items[~held], users[~held]))]
    return SplitData(
        name=name,
        n_users=n_users,
        n_items=n_items,
        train_indptr=offsets(counts - 2),
        train_items=train_items,
        val_items=items[ends - 2],
        test_items=items[ends - 1],
        eval_negatives=eval_negatives(inter, n_eval_negatives, seed),
    )


def eval_negatives(inter: Interactions, n_negatives: int, seed: int) -> IntArray:
    """Sample distinct never-interacted items per user, uniformly, in bounded memory.

    Every (user, item) gets a uniform random key, interacted pairs get ``+inf``, and the
    ``n_negatives`` smallest keys per user are kept; users are processed in chunks.

    Parameters
    ----------
    inter : Interactions
        Interactions with dense ids.
    n_negatives : int
        Negatives per user.
    seed : int
        Seed for ``np.random.default_rng``.

    Returns
    -------
    IntArray
        Shape ``(n_users, n_negatives)``, each row sorted ascending.
    """
    n_users, n_items = len(inter.user_labels), len(inter.item_labels)
    seen = np.bincount(_pair_keys(inter) // max(n_items, 1), minlength=n_users)
    if n_negatives > 0 and np.any(n_items - seen < n_negatives):
        user = int(np.argmax(n_items - seen < n_negatives))
        raise DataFormatError(
            f"user {inter.user_labels[user]!r} has {n_items - seen[user]} non-interacted items,"
            f" fewer than the {n_negatives} evaluation negatives requested"
        )
    out = np.empty((n_users, n_negatives), dtype=np.int64)
    if n_negatives == 0:
        return out
    rng = np.random.default_rng(seed)
    order = np.argsort(inter.users, kind="stable")
    users, items = inter.users[order], inter.items[order]
    bounds = np.searchsorted(users, np.arange(n_users + 1))
    chunk = max(1, _CHUNK_ELEMENTS // max(n_items, 1))
    for start in range(0, n_users, chunk):
        stop = min(start + chunk, n_users)
        keys = rng.random((stop - start, n_items))
        lo, hi = bounds[start], bounds[stop]
        keys[users[lo:hi] - start, items[lo:hi]] = np.inf
        picked = np.argpartition(keys, n_negatives - 1, axis=1)[:, :n_negatives]
        out[start:stop] = np.sort(picked, axis=1)
    return out


def _pair_keys(inter: Interactions) -> IntArray:
    """Return the sorted distinct ``user * n_items + item`` keys."""
    keys = np.sort(inter.users * max(len(inter.item_labels), 1) + inter.items)
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
