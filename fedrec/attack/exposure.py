"""How visible the target item is: its rank per user and the share with it in their top K."""

from __future__ import annotations

import numpy as np
import torch

from fedrec.data.csr import concat_ranges
from fedrec.data.types import IntArray, SplitData
from fedrec.metrics import rank_of_positive

#: Rank given to users who already know the target (they are left out of the exposure).
KNOWN = 0


@torch.no_grad()
def target_ranks(
    scores: torch.Tensor, split: SplitData, users: IntArray, target: int
) -> torch.Tensor:
    """Return each user's 1-based rank of ``target`` among the items it has no interaction with.

    Users with the target among their training or held-out items get :data:`KNOWN`.
    """
    counts = split.train_indptr[users + 1] - split.train_indptr[users]
    items = split.train_items[concat_ranges(split.train_indptr[users], counts)]
    owner = np.repeat(np.arange(len(users)), counts)
    valid = torch.ones(scores.shape, dtype=torch.bool)
    valid[torch.from_numpy(owner), torch.from_numpy(items)] = False
    rows = torch.arange(len(users))
    valid[rows, torch.from_numpy(split.val_items[users])] = False
    valid[rows, torch.from_numpy(split.test_items[users])] = False
    known = ~valid[:, target]
    valid[:, target] = False
    ranks = rank_of_positive(scores[:, target], scores, valid)
    return torch.where(known, torch.full_like(ranks, KNOWN), ranks)


def exposure(ranks: np.ndarray, k: int) -> float:
    """Return the share of users (not knowing the target) with the target in their top ``k``."""
    eligible = ranks != KNOWN
    return float((ranks[eligible] <= k).mean()) if eligible.any() else float("nan")
