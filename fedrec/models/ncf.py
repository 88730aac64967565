"""NCF-MLP (He et al., 2017): an MLP over ``[user vector, item vector]``."""

from __future__ import annotations

import torch
from torch import nn

from fedrec.config.model import ModelConfig
from fedrec.models.base import BaseRecommender
from fedrec.models.tower import Tower, tower_names


class NCF(BaseRecommender):
    """A private user vector and an MLP tower ``2·dim → mlp_layers → 1``.

    The tower (hidden and output layers) is aggregated when ``model.mlp=shared``, else private.
    """

    def __init__(self, n_users: int, dim: int, cfg: ModelConfig) -> None:
        super().__init__(n_users, dim, cfg)
        self.user = nn.Parameter(torch.randn(n_users, dim))
        self.tower = Tower(n_users, [2 * dim, *cfg.mlp_layers, 1])
        self.shared = tower_names(self.tower, "tower") if cfg.mlp == "shared" else frozenset()

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        """Return the tower's output on ``[p_u, q_i]`` for every row."""
        out: torch.Tensor = self.tower(self.user, items)
        return out.squeeze(-1)
