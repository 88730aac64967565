"""Rank each user's held-out items from a matrix of scores: one protocol for every algorithm."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from fedrec.algorithms.participation import cohorts
from fedrec.data.csr import concat_ranges
from fedrec.data.types import IntArray, SplitData
from fedrec.metrics.ranking import rank_of_positive
from fedrec.wire import RANK_KEYS

__all__ = ["RANK_KEYS", "collect_ranks", "rank_held_out"]


@torch.no_grad()
def rank_held_out(
    scores: torch.Tensor, split: SplitData, users: IntArray
) -> dict[str, torch.Tensor]:
    """Rank the validation and test items against the sampled negatives and in full ranking.

    Parameters
    ----------
    scores : torch.Tensor
        Shape ``(U, n_items)``: every user's score for every item (higher is better).
    split : SplitData
        The split the users come from.
    users : IntArray
        Global ids of the rows of ``scores``.

    Returns
    -------
    dict of str to torch.Tensor
        ``RANK_KEYS`` to 1-based ranks. Full ranking competes against every item the user has
        no known interaction with (its training items and the other held-out item are masked).
    """
    rows = torch.arange(len(users))
    val = torch.from_numpy(split.val_items[users])
    test = torch.from_numpy(split.test_items[users])
    negatives = scores.gather(1, torch.from_numpy(split.eval_negatives[users]))
    valid_val = _unknown_items(split, users)
    valid_test = valid_val.clone()
    valid_val[rows, val], valid_val[rows, test] = False, False
    valid_test[rows, test], valid_test[rows, val] = False, False
    return {
        "val_sampled": rank_of_positive(scores[rows, val], negatives),
        "test_sampled": rank_of_positive(scores[rows, test], negatives),
        "val_full": rank_of_positive(scores[rows, val], scores, valid_val),
        "test_full": rank_of_positive(scores[rows, test], scores, valid_test),
    }


def collect_ranks(
    users: IntArray, size: int, rank_cohort: Callable[[IntArray], dict[str, torch.Tensor]]
) -> dict[str, IntArray]:
    """Rank users in cohorts of at most ``size`` and concatenate; adds ``users``.

    Every key ``rank_cohort`` returns is kept (``RANK_KEYS`` at least).
    """
    parts: dict[str, list[IntArray]] = {key: [] for key in RANK_KEYS}
    for cohort in cohorts(users, size):
        ranks = rank_cohort(cohort)
        for key, value in ranks.items():
            parts.setdefault(key, []).append(value.numpy())
    out = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in parts.items()}
    out["users"] = users
    return out


def _unknown_items(split: SplitData, users: IntArray) -> torch.Tensor:
    counts = split.train_indptr[users + 1] - split.train_indptr[users]
    items = split.train_items[concat_ranges(split.train_indptr[users], counts)]
    valid = torch.ones(len(users), split.n_items, dtype=torch.bool)
    owner = torch.from_numpy(np.repeat(np.arange(len(users)), counts))
    valid[owner, torch.from_numpy(items)] = False
    return valid
