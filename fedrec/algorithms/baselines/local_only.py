"""Local-only training: every user trains its own model and item table; nothing is federated.

It is FedRAP's local view alone (``variant=local_only``, no regulariser) on the configured base
model, and the server's arrays never change: a node reports the arrays it received as its
users' mean, and counts no upload.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fedrec.algorithms.additive.algorithm import fedrap_on_base
from fedrec.algorithms.base import DEFAULT_OPTIONS, GlobalArrays, NodeData, NodeUpdate, TrainOptions
from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray, SplitData


class LocalOnly:
    """Each user alone: private base model and private item table, no aggregation.

    Parameters
    ----------
    cfg : ExperimentConfig
        The experiment; ``cfg.model`` and ``cfg.fedrap`` (optimiser) apply.
    """

    def __init__(self, cfg: ExperimentConfig) -> None:
        fedrap = dataclasses.replace(cfg.fedrap, variant="local_only", lam=0.0, mu=0.0)
        model = dataclasses.replace(cfg.model, mlp="private")
        self.inner = fedrap_on_base(dataclasses.replace(cfg, fedrap=fedrap, model=model))

    def initial_global(self, split: SplitData) -> dict[str, np.ndarray]:
        """Return the (unused) global arrays, all zero."""
        return self.inner.initial_global(split)

    def train_node(
        self,
        node: NodeData,
        arrays: GlobalArrays,
        server_round: int,
        options: TrainOptions = DEFAULT_OPTIONS,
    ) -> NodeUpdate:
        """Train every participant on its own; hand the server back its arrays unchanged."""
        if options.per_user:
            raise ValueError("algorithm=local uploads nothing; use a node-sum strategy (fedavg)")
        update = self.inner.train_node(node, arrays, server_round, options)
        sums = {k: v * update.weight_sum for k, v in arrays.items()}
        return dataclasses.replace(update, sums=sums, upload_bytes=0)

    def evaluate_node(self, node: NodeData, arrays: GlobalArrays) -> dict[str, IntArray]:
        """Rank held-out items with every user's own model."""
        return self.inner.evaluate_node(node, arrays)
