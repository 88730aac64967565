"""Per-user MLP towers, batched over users: one ``bmm`` per layer for the whole cohort."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from fedrec.models.base import uniform_


class Tower(nn.Module):
    """``U`` independent MLPs with ReLU between layers (none after the last).

    Parameters
    ----------
    n_users : int
        Users (one MLP each).
    widths : sequence of int
        Input width, hidden widths, output width.
    """

    def __init__(self, n_users: int, widths: Sequence[int]) -> None:
        super().__init__()
        pairs = list(itertools.pairwise(widths))
        self.weights = nn.ParameterList(uniform_((n_users, a, b), a) for a, b in pairs)
        self.biases = nn.ParameterList(uniform_((n_users, b), a) for a, b in pairs)

    def forward(self, user: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Map ``[user, item]`` pairs, ``(U, a)`` and ``(U, L, b)``, to ``(U, L, widths[-1])``.

        The first layer is split into its user and item columns, so the user's share is
        computed once per user instead of once per row (no ``(U, L, a + b)`` concatenation).
        """
        if not len(self.weights):
            return torch.cat([user.unsqueeze(1).expand(-1, items.shape[1], -1), items], dim=-1)
        first, a = self.weights[0], user.shape[-1]
        start = torch.baddbmm(self.biases[0].unsqueeze(1), user.unsqueeze(1), first[:, :a])
        x = torch.baddbmm(start, items, first[:, a:])
        # Index, never slice: a sliced ParameterList re-wraps its tensors as new Parameters,
        # which cuts them off from autograd (and from torch.func.functional_call).
        for k in range(1, len(self.weights)):
            x = torch.baddbmm(self.biases[k].unsqueeze(1), torch.relu(x), self.weights[k])
        return x


def tower_names(module: nn.Module, prefix: str) -> frozenset[str]:
    """Return the parameter names of the tower ``module`` registered as ``prefix``."""
    return frozenset(f"{prefix}.{name}" for name, _ in module.named_parameters())
