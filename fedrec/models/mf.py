"""Matrix factorisation with biases: ``logit = p_u · q_i + b_u + b_i``."""

from __future__ import annotations

import torch
from torch import nn

from fedrec.config.model import ModelConfig
from fedrec.models.base import BaseRecommender, uniform_


class MF(BaseRecommender):
    """A private user vector ``p_u`` and bias ``b_u``; the item row is ``[q_i, b_i]``.

    The item bias is the last column of the item embedding, so it is shared, aggregated and (under
    FedRAP) personalised exactly like the item vector.
    """

    def __init__(self, n_users: int, dim: int, cfg: ModelConfig) -> None:
        super().__init__(n_users, dim, cfg)
        self.user = uniform_((n_users, dim), dim)
        self.user_bias = nn.Parameter(torch.zeros(n_users))

    @staticmethod
    def item_width(dim: int, cfg: ModelConfig) -> int:
        """Return ``dim + 1``: the item vector and the item bias."""
        return dim + 1

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        """Return ``p_u · q_i + b_u + b_i`` for every row, as ``[p_u, 1] · [q_i, b_i] + b_u``."""
        user = torch.cat([self.user, torch.ones_like(self.user_bias).unsqueeze(1)], dim=1)
        return torch.bmm(items, user.unsqueeze(2)).squeeze(2) + self.user_bias.unsqueeze(1)
