"""FedRAP on any registered base model, as a registered algorithm.

The affine head (``model.name=affine``) keeps the hand-written fast path of
:mod:`fedrec.algorithms.fedrap`; every other base model trains with the autograd cohort trainer.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from fedrec.algorithms.additive.node import (
    MODEL_SHARED,
    NodeModel,
    Recipe,
    evaluate_node,
    train_node,
)
from fedrec.algorithms.base import (
    DEFAULT_OPTIONS,
    Algorithm,
    GlobalArrays,
    NodeData,
    NodeUpdate,
    TrainOptions,
)
from fedrec.algorithms.fedrap.algorithm import FedRAP
from fedrec.algorithms.fedrap.node import ITEM_GLOBAL
from fedrec.config.model import ModelConfig
from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray, SplitData
from fedrec.models import model_class
from fedrec.models.fedrap import InitialState
from fedrec.models.params import ModelLayout, model_layout
from fedrec.state.store import ClientStateStore


def fedrap_on_base(cfg: ExperimentConfig) -> Algorithm:
    """Return FedRAP on ``cfg.model``: the fast path for ``affine``, else ``AdditiveFedRAP``."""
    model_class(cfg.model)  # an unknown name fails here, before any training
    if cfg.model.name == "affine":
        return FedRAP(cfg)
    return AdditiveFedRAP(cfg)


class AdditiveFedRAP:
    """FedRAP with item embedding ``C + D`` under any base model (autograd, vectorised).

    Parameters
    ----------
    cfg : ExperimentConfig
        The experiment: ``cfg.model`` the base model, ``cfg.fedrap`` the hyperparameters.
    recipe : Recipe, optional
        How the item table is trained and used (PFedRec changes it).
    """

    def __init__(self, cfg: ExperimentConfig, recipe: Recipe | None = None) -> None:
        self.cfg = cfg
        self.layout = _layout(cfg.model, cfg.fedrap.dim, cfg.seed)
        self.model = NodeModel(self.layout, recipe or Recipe())

    def initial_global(self, split: SplitData) -> dict[str, np.ndarray]:
        """Return C (N(0, 1); zero without C) and the shared parameters' initial draw."""
        init = self._initial(split.n_items)
        arrays = {ITEM_GLOBAL: init.item_global.numpy()}
        if self.layout.shared.size:
            arrays[MODEL_SHARED] = self.layout.initial_shared.numpy()
        return arrays

    def train_node(
        self,
        node: NodeData,
        arrays: GlobalArrays,
        server_round: int,
        options: TrainOptions = DEFAULT_OPTIONS,
    ) -> NodeUpdate:
        """Train this round's participants with the autograd cohort trainer."""
        store = self._store(node)
        return train_node(
            node.split, node.hosted, store, arrays, self.cfg, server_round, self.model, options
        )

    def evaluate_node(self, node: NodeData, arrays: GlobalArrays) -> dict[str, IntArray]:
        """Rank every hosted user's held-out items under its personalised model."""
        return evaluate_node(
            node.split, node.hosted, self._store(node), arrays, self.cfg, self.model
        )

    def _initial(self, n_items: int) -> InitialState:
        fed = self.cfg.fedrap
        width = model_class(self.cfg.model).item_width(fed.dim, self.cfg.model)
        own_copy = self.model.recipe.own_copy
        key = (n_items, width, self.cfg.seed, fed.variant, fed.local_init_std)
        return _initial(*key, self.layout, own_copy)

    def _store(self, node: NodeData) -> ClientStateStore:
        hosted = (int(node.hosted[0]), int(node.hosted[-1]) + 1) if len(node.hosted) else (0, 0)
        init = self._initial(node.split.n_items)
        precision = self.cfg.federation.state_precision
        keep_local = self.model.recipe.own_copy or self.cfg.fedrap.variant != "global_only"
        return _open_store(str(node.state_dir), hosted, init, precision, keep_local)


@lru_cache(maxsize=8)
def _layout(cfg: ModelConfig, dim: int, seed: int) -> ModelLayout:
    return model_layout(cfg, dim, seed)


@lru_cache(maxsize=8)
def _initial(
    n_items: int,
    width: int,
    seed: int,
    variant: str,
    local_std: float,
    layout: ModelLayout,
    own_copy: bool,
) -> InitialState:
    """C and the shared D from N(0, 1) (as ``nn.Embedding``), the model's one initial copy.

    D's draw is scaled by ``local_std`` (``fedrap.local_init_std``). With ``own_copy`` a user's
    D is its copy of the item table, which starts as C.
    """
    gen = torch.Generator().manual_seed(seed)
    item_global = torch.randn(n_items, width, generator=gen)
    item_local = torch.randn(n_items, width, generator=gen).mul_(local_std)
    if own_copy:
        return InitialState(
            item_global, item_global.clone(), layout.initial_private, torch.zeros(1)
        )
    if variant == "global_only":
        item_local.zero_()
    elif variant == "local_only":
        item_global.zero_()
    return InitialState(item_global, item_local, layout.initial_private, torch.zeros(1))


@lru_cache(maxsize=64)
def _open_store(
    folder: str, hosted: tuple[int, int], init: InitialState, precision: str, keep_local: bool
) -> ClientStateStore:
    """One store per node folder and process: reopening memory maps every message is costly."""
    users = np.arange(*hosted, dtype=np.int64)
    return ClientStateStore(Path(folder), users, init, precision, keep_local)
