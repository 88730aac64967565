"""The private tensors of a cohort of users, as training and evaluation see them."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class PrivateState:
    """The private tensors of a cohort, dense: D per user and the score head (for evaluation).

    ``has_local`` is False when the algorithm keeps no D: ``item_local`` is then a read-only
    zero view that occupies no memory, and a scorer can leave the D term out.
    """

    item_local: torch.Tensor  # (U, n_items, dim)
    head_weight: torch.Tensor  # (U, dim)
    head_bias: torch.Tensor  # (U,)
    has_local: bool = True


@dataclass
class TouchedState:
    """The part of a cohort's private state that one round reads and writes.

    D only on the (user, item) rows the round touches, in the order of ``RoundSamples``'s row
    table; the rest of D changes by the per-user factor ``CohortUpdate.untouched_scale``.
    """

    local_rows: torch.Tensor  # (R, dim)
    head_weight: torch.Tensor  # (U, dim)
    head_bias: torch.Tensor  # (U,)
