"""FedRAP's base recommender: an affine score head over the additive item view C + D."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


class AdditiveItemScorer(nn.Module):
    """One user's FedRAP model: ``logit(i) = head(D[i] + C[i])``.

    ``item_global`` (C) is the federated view the server aggregates; ``item_local`` (D) and the
    ``head`` are private and never leave the client.

    Parameters
    ----------
    n_items : int
        Catalogue size.
    dim : int
        Embedding dimension.
    """

    def __init__(self, n_items: int, dim: int) -> None:
        super().__init__()
        self.item_local = nn.Embedding(n_items, dim)
        self.item_global = nn.Embedding(n_items, dim)
        self.head = nn.Linear(dim, 1)

    def forward(self, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return logits and the D and C rows of ``items`` (the regularisers need both)."""
        local_rows = self.item_local(items)
        global_rows = self.item_global(items)
        return self.head(local_rows + global_rows).squeeze(-1), local_rows, global_rows


@dataclass(frozen=True)
class InitialState:
    """The initial tensors, a pure function of (n_items, dim, seed).

    As in the reference code, every user starts from the same D and head (one model copied to
    all users), and C starts from its own N(0, 1) draw. For other base models
    (:mod:`fedrec.algorithms.additive`) ``head_weight`` is the model's flat private parameter
    vector and ``head_bias`` an unused zero.
    """

    item_global: torch.Tensor
    item_local: torch.Tensor
    head_weight: torch.Tensor
    head_bias: torch.Tensor


def initial_state(
    n_items: int, dim: int, seed: int, variant: str = "full", local_std: float = 1.0
) -> InitialState:
    """Draw the shared initial tensors exactly as ``nn.Embedding``/``nn.Linear`` would.

    The ablations start their frozen view at zero: D for ``global_only``, C for ``local_only``.
    ``local_std`` scales D's N(0, 1) draw (``fedrap.local_init_std``; 0 starts D at zero).
    """
    gen = torch.Generator().manual_seed(seed)
    bound = 1.0 / dim**0.5
    item_global = torch.randn(n_items, dim, generator=gen)
    item_local = torch.randn(n_items, dim, generator=gen)
    head_weight = (torch.rand(dim, generator=gen) * 2 - 1) * bound
    head_bias = (torch.rand(1, generator=gen) * 2 - 1) * bound
    item_local.mul_(local_std)
    if variant == "global_only":
        item_local.zero_()
    elif variant == "local_only":
        item_global.zero_()
    return InitialState(item_global, item_local, head_weight, head_bias)
