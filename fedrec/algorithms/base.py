"""What an algorithm provides to a Flower node, independent of Flower.

An algorithm names its global arrays (what the server aggregates and sends back) and trains or
evaluates the users a node hosts. A node replies with ``Σ_u w_u · x_u`` for every global array
``x`` and the summed weight ``Σ_u w_u``; the server's new value is their ratio. Everything a
user keeps private stays in the node's state folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from fedrec.data.types import IntArray, SplitData

GlobalArrays = dict[str, torch.Tensor]


@dataclass
class NodeUpdate:
    """A node's contribution to one round, and statistics about it."""

    sums: GlobalArrays  # Σ_u w_u · x_u for every global array x
    weight_sum: float
    num_users: int
    num_examples: int
    num_dropped: int
    loss_sum: float
    epochs_sum: int
    train_seconds: float


@dataclass(frozen=True)
class NodeData:
    """What a node works on: the split, the users it hosts, and its private state folder."""

    split: SplitData
    hosted: IntArray
    state_dir: Path


class Algorithm(Protocol):
    """A federated recommendation algorithm as a node runs it."""

    def initial_global(self, split: SplitData) -> dict[str, np.ndarray]:
        """Return the global arrays of round 1 (only their shapes may depend on the split)."""
        ...

    def train_node(self, node: NodeData, arrays: GlobalArrays, server_round: int) -> NodeUpdate:
        """Train this round's participants among the hosted users."""
        ...

    def evaluate_node(self, node: NodeData, arrays: GlobalArrays) -> dict[str, IntArray]:
        """Return per-user ranks (``fedrec.algorithms.ranks.RANK_KEYS``) and ``users``."""
        ...
