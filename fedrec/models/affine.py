"""The affine head of FedRAP's reference code (GMF-style): ``logit = w_u · e_i + b_u``."""

from __future__ import annotations

import torch

from fedrec.config.model import ModelConfig
from fedrec.models.base import BaseRecommender, uniform_


class Affine(BaseRecommender):
    """Every user's private ``nn.Linear(dim, 1)`` over the item embedding.

    With FedRAP the item embedding is ``C + D``; ``fedrec.algorithms.fedrap`` trains this model
    with hand-derived gradients, the generic trainer with autograd (they agree; tested).
    """

    def __init__(self, n_users: int, dim: int, cfg: ModelConfig) -> None:
        super().__init__(n_users, dim, cfg)
        self.weight = uniform_((n_users, dim), dim)
        self.bias = uniform_((n_users,), dim)

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        """Return ``w_u · e + b_u`` for every row."""
        return torch.einsum("uld,ud->ul", items, self.weight) + self.bias.unsqueeze(1)
