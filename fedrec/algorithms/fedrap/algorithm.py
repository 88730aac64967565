"""FedRAP as a registered algorithm: global C, private D and score head per user."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from fedrec.algorithms.base import DEFAULT_OPTIONS, GlobalArrays, NodeData, NodeUpdate, TrainOptions
from fedrec.algorithms.fedrap.node import ITEM_GLOBAL, evaluate_node, train_node
from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray, SplitData
from fedrec.models.fedrap import InitialState, initial_state
from fedrec.state.store import ClientStateStore


class FedRAP:
    """Federated Recommendation with Additive Personalization (Li et al., ICLR 2024).

    Parameters
    ----------
    cfg : ExperimentConfig
        The experiment; ``cfg.fedrap`` holds the hyperparameters.
    """

    def __init__(self, cfg: ExperimentConfig) -> None:
        self.cfg = cfg

    def initial_global(self, split: SplitData) -> dict[str, np.ndarray]:
        """Return C of round 1: N(0, 1) as ``nn.Embedding`` initialises it (zero without C)."""
        fed = self.cfg.fedrap
        init = _initial(split.n_items, fed.dim, self.cfg.seed, fed.variant, fed.local_init_std)
        return {ITEM_GLOBAL: init.item_global.numpy()}

    def train_node(
        self,
        node: NodeData,
        arrays: GlobalArrays,
        server_round: int,
        options: TrainOptions = DEFAULT_OPTIONS,
    ) -> NodeUpdate:
        """Train this round's participants with the vectorised cohort trainer."""
        store = self._store(node)
        return train_node(
            node.split, node.hosted, store, arrays[ITEM_GLOBAL], self.cfg, server_round, options
        )

    def evaluate_node(self, node: NodeData, arrays: GlobalArrays) -> dict[str, IntArray]:
        """Rank every hosted user's held-out items under its personalised model."""
        return evaluate_node(
            node.split, node.hosted, self._store(node), arrays[ITEM_GLOBAL], self.cfg
        )

    def _store(self, node: NodeData) -> ClientStateStore:
        hosted = (int(node.hosted[0]), int(node.hosted[-1]) + 1) if len(node.hosted) else (0, 0)
        fed = self.cfg.fedrap
        key = (node.split.n_items, fed.dim, self.cfg.seed, fed.variant, fed.local_init_std)
        precision = self.cfg.federation.state_precision
        keep_local = fed.variant != "global_only"
        return _open_store(str(node.state_dir), hosted, key, precision, keep_local)


@lru_cache(maxsize=4)
def _initial(n_items: int, dim: int, seed: int, variant: str, local_std: float) -> InitialState:
    return initial_state(n_items, dim, seed, variant, local_std)


@lru_cache(maxsize=64)
def _open_store(
    folder: str,
    hosted: tuple[int, int],
    key: tuple[int, int, int, str, float],
    precision: str = "float32",
    keep_local: bool = True,
) -> ClientStateStore:
    """One store per node folder and process: reopening memory maps every message is costly."""
    users = np.arange(*hosted, dtype=np.int64)
    return ClientStateStore(Path(folder), users, _initial(*key), precision, keep_local)
