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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(U, L, widths[0])`` to ``(U, L, widths[-1])``."""
        last = len(self.weights) - 1
        for k, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(bias.unsqueeze(1), x, weight)
            if k < last:
                x = torch.relu(x)
        return x


def tower_names(module: nn.Module, prefix: str) -> frozenset[str]:
    """Return the parameter names of the tower ``module`` registered as ``prefix``."""
    return frozenset(f"{prefix}.{name}" for name, _ in module.named_parameters())
