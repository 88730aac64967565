"""What every base recommender provides, so any federated algorithm can train it.

A base recommender is a plain ``nn.Module`` for a *cohort* of users: every parameter has a
leading user dimension ``U`` (one user is ``U = 1``), and :meth:`BaseRecommender.forward`
scores, for every user, its own rows of item embeddings. The item embeddings are an input,
not a parameter: the algorithm owns them (FedRAP passes ``C + D``, FedMF the shared table).
"""

from __future__ import annotations

import torch
from torch import nn

from fedrec.config.model import ModelConfig


class BaseRecommender(nn.Module):
    """A cohort's score functions: ``forward(items) -> logits``.

    Subclasses set :attr:`shared`, the names of the parameters the server aggregates; every
    other parameter is private and never leaves its user.

    Parameters
    ----------
    n_users : int
        Users in the cohort (leading dimension of every parameter).
    dim : int
        Embedding size (``fedrap.dim``).
    cfg : ModelConfig
        The ``model`` section (tower widths, shared or private tower).
    """

    #: Names (as in ``named_parameters``) of the parameters aggregated by the server.
    shared: frozenset[str] = frozenset()

    def __init__(self, n_users: int, dim: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_users, self.dim = n_users, dim

    @staticmethod
    def item_width(dim: int, cfg: ModelConfig) -> int:
        """Return the width of one item's embedding row this model reads."""
        return dim

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        """Return logits ``(U, L)`` of item rows ``(U, L, item_width)``; row ``u``: user ``u``."""
        raise NotImplementedError


def uniform_(shape: tuple[int, ...], fan_in: int) -> nn.Parameter:
    """Return a parameter drawn as ``nn.Linear`` draws its weights: U(±1/√fan_in)."""
    bound = 1.0 / fan_in**0.5
    return nn.Parameter((torch.rand(shape) * 2 - 1) * bound)
