"""FedRAP's scores for evaluation: each user's personalised model (C + D, its own head)."""

from __future__ import annotations

import torch

from fedrec.algorithms.ranks import rank_held_out
from fedrec.data.types import IntArray, SplitData
from fedrec.state.private import PrivateState


@torch.no_grad()
def cohort_logits(state: PrivateState, item_global: torch.Tensor) -> torch.Tensor:
    """Return every user's logit for every item, shape ``(U, n_items)``."""
    logits = state.head_weight @ item_global.T
    if state.has_local:  # without D, a user's scores are one matrix product, not U of them
        logits = torch.einsum("uid,ud->ui", state.item_local, state.head_weight) + logits
    return logits + state.head_bias.unsqueeze(1)


@torch.no_grad()
def cohort_ranks(
    state: PrivateState,
    item_global: torch.Tensor,
    split: SplitData,
    users: IntArray,
    score: str = "logit",
) -> dict[str, torch.Tensor]:
    """Rank the users' held-out items under their personalised models.

    Scores are logits by default: the sigmoid is monotone, so the ranking is the model's,
    without the ties that float32 saturation of the sigmoid creates; ``score="probability"``
    ranks the float32 sigmoid outputs as the reference code does (ties rank the positive last).
    """
    return rank_held_out(cohort_scores(state, item_global, score), split, users)


@torch.no_grad()
def cohort_scores(state: PrivateState, item_global: torch.Tensor, score: str) -> torch.Tensor:
    """Return the ranking scores: logits, or their float32 sigmoid for ``"probability"``."""
    logits = cohort_logits(state, item_global)
    return torch.sigmoid(logits) if score == "probability" else logits
