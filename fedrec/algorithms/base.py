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

from fedrec.aggregation.updates import UserUpdates
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
    #: Every participant's sparse update of the global matrix, when asked for (per-user mode).
    users: UserUpdates | None = None
    #: Σ over participants of the bytes of the upload message each would send on its own
    #: (−1: the algorithm does not count them; the server then assumes dense global arrays).
    upload_bytes: int = -1
    #: The ids of the users in ``users``, when the server records the uploads.
    user_ids: np.ndarray | None = None


@dataclass(frozen=True)
class TrainOptions:
    """What the server's strategy asks of a node's training this round.

    Attributes
    ----------
    per_user : bool
        Also return every participant's sparse update (robust strategies need them).
    upload_threshold : float
        Soft-threshold the uploaded rows by this much (client-side L1 proximal step).
    upload_density : float
        Each client raises its threshold as needed to upload at most this share of non-zeros.
    proximal_mu : float
        FedProx's ``μ``: clients add ``μ/2 · ‖C_u − G‖²`` to their local loss.
    dp_clip_norm : float
        Local client-level DP: clip every user's update to this L2 norm (0: off).
    dp_noise_std : float
        Local client-level DP: std of the Gaussian noise on every entry of the update.
    record_users : bool
        Per-user updates also carry the users' ids (the server records them for the audit).
    """

    per_user: bool = False
    upload_threshold: float = 0.0
    upload_density: float = 1.0
    proximal_mu: float = 0.0
    dp_clip_norm: float = 0.0
    dp_noise_std: float = 0.0
    record_users: bool = False


#: Plain training: node sums only, no proximal terms.
DEFAULT_OPTIONS = TrainOptions()


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

    def train_node(
        self,
        node: NodeData,
        arrays: GlobalArrays,
        server_round: int,
        options: TrainOptions = DEFAULT_OPTIONS,
    ) -> NodeUpdate:
        """Train this round's participants among the hosted users, as ``options`` ask."""
        ...

    def evaluate_node(self, node: NodeData, arrays: GlobalArrays) -> dict[str, IntArray]:
        """Return per-user ranks (``fedrec.algorithms.ranks.RANK_KEYS``) and ``users``."""
        ...
