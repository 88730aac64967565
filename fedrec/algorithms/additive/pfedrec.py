"""PFedRec (Zhang et al., IJCAI 2023, "Dual personalization on federated recommendation").

Each user has a private score function (the base model, by default the affine head, with its
tower kept private) over a shared item embedding table, which the server averages over the
round's participants. Locally every batch takes two steps: first the score function with the
item embeddings fixed, then the item embeddings under the updated score function. The user keeps
its trained copy of the item table and scores items with it (the second personalisation).

Training reuses the cohort trainer of FedRAP on a base model (``Recipe(two_step, own_copy)``)
with PFedRec's own optimiser settings (``pfedrec.*``) and no FedRAP regulariser;
``pfedrec.two_step`` and ``pfedrec.own_copy`` switch its two ingredients off for ablations.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from fedrec.algorithms.additive.algorithm import AdditiveFedRAP
from fedrec.algorithms.additive.node import Recipe
from fedrec.algorithms.base import DEFAULT_OPTIONS, GlobalArrays, NodeData, NodeUpdate, TrainOptions
from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray, SplitData


def local_settings(cfg: ExperimentConfig, n_items: int) -> ExperimentConfig:
    """Return ``cfg`` with PFedRec's optimiser written into the shared local-training fields."""
    p = cfg.pfedrec
    fedrap = dataclasses.replace(
        cfg.fedrap,
        lr_head=p.lr,
        lr_embedding=p.lr * n_items * p.lr_eta,
        weight_decay=p.weight_decay,
        batch_size=p.batch_size,
        local_epochs=p.local_epochs,
        batch_lr_decay=1.0,
        round_lr_decay=1.0,
        tol=0.0,  # no early stop: every local epoch runs
        lam=0.0,
        mu=0.0,
        curriculum="fixed",
        variant="global_only",
    )
    return dataclasses.replace(
        cfg, fedrap=fedrap, model=dataclasses.replace(cfg.model, mlp="private")
    )


class PFedRec:
    """PFedRec as a registered algorithm.

    Parameters
    ----------
    cfg : ExperimentConfig
        The experiment; ``cfg.pfedrec`` holds the optimiser, ``cfg.model`` the score function.
    """

    def __init__(self, cfg: ExperimentConfig) -> None:
        self.cfg = cfg

    def initial_global(self, split: SplitData) -> dict[str, np.ndarray]:
        """Return the item table of round 1 (N(0, 1))."""
        return self._inner(split.n_items).initial_global(split)

    def train_node(
        self,
        node: NodeData,
        arrays: GlobalArrays,
        server_round: int,
        options: TrainOptions = DEFAULT_OPTIONS,
    ) -> NodeUpdate:
        """Train the round's participants with PFedRec's two-step local update."""
        return self._inner(node.split.n_items).train_node(node, arrays, server_round, options)

    def evaluate_node(self, node: NodeData, arrays: GlobalArrays) -> dict[str, IntArray]:
        """Rank held-out items with each user's score function and its own item table."""
        return self._inner(node.split.n_items).evaluate_node(node, arrays)

    def _inner(self, n_items: int) -> AdditiveFedRAP:
        return _inner(self.cfg, n_items)


@lru_cache(maxsize=8)
def _inner(cfg: ExperimentConfig, n_items: int) -> AdditiveFedRAP:
    recipe = Recipe(two_step=cfg.pfedrec.two_step, own_copy=cfg.pfedrec.own_copy)
    return AdditiveFedRAP(local_settings(cfg, n_items), recipe)
