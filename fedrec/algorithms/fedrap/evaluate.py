"""Ranks of each user's held-out items under its personalised model (C + D, its own head)."""

from __future__ import annotations

import numpy as np
import torch

from fedrec.algorithms.fedrap.cohort import PrivateState
from fedrec.data.csr import concat_ranges
from fedrec.data.types import IntArray, SplitData
from fedrec.metrics.ranking import rank_of_positive

RANK_KEYS = ("val_sampled", "test_sampled", "val_full", "test_full")


@torch.no_grad()
def cohort_logits(state: PrivateState, item_global: torch.Tensor) -> torch.Tensor:
    """Return every user's logit for every item, shape ``(U, n_items)``."""
    local = torch.einsum("uid,ud->ui", state.item_local, state.head_weight)
    shared = state.head_weight @ item_global.T
    return local + shared + state.head_bias.unsqueeze(1)


@torch.no_grad()
def cohort_ranks(
    state: PrivateState,
    item_global: torch.Tensor,
    split: SplitData,
    users: IntArray,
    score: str = "logit",
) -> dict[str, torch.Tensor]:
    """Rank the validation and test items, against the sampled negatives and in full ranking.

    Scores are logits by default: the sigmoid is monotone, so the ranking is the model's,
    without the ties that float32 saturation of the sigmoid creates; ``score="probability"``
    ranks the float32 sigmoid outputs as the reference code does (ties rank the positive last).
    Full ranking competes against every item the user has no known interaction with (its
    training items and the other held-out item are masked).
    """
    logits = cohort_logits(state, item_global)
    if score == "probability":
        logits = torch.sigmoid(logits)
    rows = torch.arange(len(users))
    val = torch.from_numpy(split.val_items[users])
    test = torch.from_numpy(split.test_items[users])
    negatives = logits.gather(1, torch.from_numpy(split.eval_negatives[users]))
    valid = _unknown_items(split, users)
    valid_val, valid_test = valid.clone(), valid
    valid_val[rows, val], valid_val[rows, test] = False, False
    valid_test[rows, test], valid_test[rows, val] = False, False
    return {
        "val_sampled": rank_of_positive(logits[rows, val], negatives),
        "test_sampled": rank_of_positive(logits[rows, test], negatives),
        "val_full": rank_of_positive(logits[rows, val], logits, valid_val),
        "test_full": rank_of_positive(logits[rows, test], logits, valid_test),
    }


def _unknown_items(split: SplitData, users: IntArray) -> torch.Tensor:
    counts = split.train_indptr[users + 1] - split.train_indptr[users]
    items = split.train_items[concat_ranges(split.train_indptr[users], counts)]
    valid = torch.ones(len(users), split.n_items, dtype=torch.bool)
    valid[
        torch.from_numpy(np.repeat(np.arange(len(users)), counts)),
        torch.from_numpy(items),
    ] = False
    return valid
