"""One round's local training data for a cohort of users, in a flat (ragged) layout.

Samples of all users sit in one array; ``row`` indexes a table of the distinct (user, item) pairs
the round touches, so each user's embedding rows are gathered once and updated in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fedrec.data.csr import concat_ranges, offsets
from fedrec.data.sampling import excluded_items, sample_negatives
from fedrec.data.types import IntArray, SplitData
from fedrec.rng import Stream, uniform


@dataclass(frozen=True)
class RoundSamples:
    """Training samples of a cohort for one round.

    Attributes
    ----------
    users : IntArray
        Global ids of the cohort's users, shape ``(U,)``.
    sample_user, sample_row, sample_pos : torch.Tensor
        Per sample: local user index, index into the row table, position within its user.
    label : torch.Tensor
        1 for positives, 0 for negatives.
    row_user, row_item : torch.Tensor
        The row table: distinct (local user, item) pairs touched this round.
    user_count : torch.Tensor
        Samples per user.
    """

    users: IntArray
    sample_user: torch.Tensor
    sample_row: torch.Tensor
    sample_pos: torch.Tensor
    label: torch.Tensor
    row_user: torch.Tensor
    row_item: torch.Tensor
    user_count: torch.Tensor


def build_round_samples(
    split: SplitData,
    users: IntArray,
    protocol: str,
    num_negatives: int,
    keys: tuple[int, int],
) -> RoundSamples:
    """Collect each user's positives and freshly drawn negatives for one round.

    Parameters
    ----------
    split : SplitData
        The dataset split.
    users : IntArray
        Global ids of the cohort.
    protocol : {"strict", "legacy"}
        Negative-sampling protocol.
    num_negatives : int
        Negatives per positive (the reference uses 4), redrawn every round.
    keys : tuple of int
        ``(seed, server_round)``: a user's draws are a function of these and its id only.

    Returns
    -------
    RoundSamples
        Per user, positives first, then its negatives.
    """
    pos_counts = split.train_indptr[users + 1] - split.train_indptr[users]
    positives = split.train_items[concat_ranges(split.train_indptr[users], pos_counts)]
    excl_ptr, excl = excluded_items(split, users, protocol)
    neg_counts = pos_counts * num_negatives
    negatives = sample_negatives(split.n_items, excl_ptr, excl, neg_counts, keys, users)
    local = np.arange(len(users))
    owner = np.concatenate([np.repeat(local, pos_counts), np.repeat(local, neg_counts)])
    items = np.concatenate([positives, negatives])
    labels = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    order = np.argsort(owner, kind="stable")
    owner, items, labels = owner[order], items[order], labels[order]
    counts = pos_counts + neg_counts
    pos_in_user = np.arange(len(owner)) - np.repeat(offsets(counts)[:-1], counts)
    pair, row = np.unique(owner * split.n_items + items, return_inverse=True)
    return RoundSamples(
        users=users,
        sample_user=torch.from_numpy(owner),
        sample_row=torch.from_numpy(row.reshape(-1)),
        sample_pos=torch.from_numpy(pos_in_user),
        label=torch.from_numpy(labels.astype(np.float32)),
        row_user=torch.from_numpy(pair // split.n_items),
        row_item=torch.from_numpy(pair % split.n_items),
        user_count=torch.from_numpy(counts),
    )


def batch_index(
    samples: RoundSamples, batch_size: int, keys: tuple[int, int], epoch: int
) -> torch.Tensor:
    """Assign every sample to a mini-batch of its user for one epoch (a per-user shuffle).

    Users with a single batch need no shuffle: a mean over one batch ignores order.
    """
    counts = samples.user_count.numpy()
    batch = np.zeros(len(samples.sample_user), dtype=np.int64)
    if int(counts.max(initial=0)) <= batch_size:
        return torch.from_numpy(batch)
    owner = samples.sample_user.numpy()
    many = np.flatnonzero(counts[owner] > batch_size)  # samples of users with several batches
    sub_owner = owner[many]  # sorted: samples are grouped by user
    noise = uniform(
        *keys, Stream.SHUFFLE, epoch, samples.users[sub_owner], samples.sample_pos[many]
    )
    order = _order_within_users(sub_owner, noise)
    group_start = np.flatnonzero(np.diff(sub_owner, prepend=-1))
    first = np.repeat(group_start, np.diff(group_start, append=len(sub_owner)))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - first
    batch[many] = rank // batch_size
    return torch.from_numpy(batch)


def _order_within_users(owner: IntArray, noise: np.ndarray) -> IntArray:
    """Return the permutation sorting by (owner, noise), as ``np.lexsort((noise, owner))``.

    Two plain sorts are several times faster than a lexsort here: a quicksort of the noise, then
    a stable sort by owner, which numpy does as a radix sort once owners fit 16 bits.
    """
    by_noise = np.argsort(noise)
    small = owner.astype(np.uint16) if int(owner.max(initial=0)) < 2**16 else owner
    return by_noise[np.argsort(small[by_noise], kind="stable")]
