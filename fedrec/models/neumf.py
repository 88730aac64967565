"""NeuMF (He et al., 2017): a GMF tower and an MLP tower fused by one output layer."""

from __future__ import annotations

import torch
from torch import nn

from fedrec.config.model import ModelConfig
from fedrec.models.base import BaseRecommender, uniform_
from fedrec.models.tower import Tower, tower_names


class NeuMF(BaseRecommender):
    """GMF ``p_u ⊙ q_i`` and MLP ``MLP([p'_u, q'_i])``, concatenated into one linear output.

    The item row is ``[q_i, q'_i]`` (width ``2·dim``). The MLP tower and the output layer are
    aggregated when ``model.mlp=shared``, else private; the user vectors are always private.
    """

    def __init__(self, n_users: int, dim: int, cfg: ModelConfig) -> None:
        super().__init__(n_users, dim, cfg)
        self.user_gmf = nn.Parameter(torch.randn(n_users, dim))
        self.user_mlp = nn.Parameter(torch.randn(n_users, dim))
        self.tower = Tower(n_users, [2 * dim, *cfg.mlp_layers])
        width = dim + cfg.mlp_layers[-1] if cfg.mlp_layers else 3 * dim
        self.out_weight = uniform_((n_users, width), width)
        self.out_bias = uniform_((n_users,), width)
        head = frozenset({"out_weight", "out_bias"})
        self.shared = (
            tower_names(self.tower, "tower") | head if cfg.mlp == "shared" else frozenset()
        )

    @staticmethod
    def item_width(dim: int, cfg: ModelConfig) -> int:
        """Return ``2·dim``: the GMF and the MLP item vectors."""
        return 2 * dim

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        """Return ``w · [p_u ⊙ q_i, MLP([p'_u, q'_i])] + b`` for every row."""
        gmf_items, mlp_items = items[..., : self.dim], items[..., self.dim :]
        gmf = gmf_items * self.user_gmf.unsqueeze(1)
        mlp = self.tower(self.user_mlp, mlp_items)
        fused = torch.cat([gmf, mlp], dim=-1)
        return torch.einsum("ulw,uw->ul", fused, self.out_weight) + self.out_bias.unsqueeze(1)
