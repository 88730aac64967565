"""Per-process resources of a node: the data split, the initial state and the state store.

A Ray actor serves many nodes and many rounds; loading the dataset or reopening memory maps for
every message would dominate a round, so they are cached here per process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from fedrec.algorithms.fedrap.node import hosted_users
from fedrec.config.schema import ExperimentConfig
from fedrec.data import SyntheticSpec, load_split
from fedrec.data.types import SplitData
from fedrec.models.fedrap import InitialState, initial_state
from fedrec.state.store import ClientStateStore


def split_for(cfg: ExperimentConfig) -> SplitData:
    """Return the configured dataset split (cached per process)."""
    syn = cfg.data.synthetic
    spec = SyntheticSpec(
        n_users=syn.n_users,
        n_items=syn.n_items,
        mean_interactions=syn.mean_interactions,
        popularity_skew=syn.popularity_skew,
        seed=cfg.seed,
    )
    return load_split(
        cfg.dataset,
        cfg.data.path,
        min_interactions=cfg.data.min_interactions,
        n_eval_negatives=cfg.data.eval_negatives,
        seed=cfg.seed,
        synthetic=spec if cfg.dataset == "synthetic" else None,
    )


@lru_cache(maxsize=4)
def init_for(n_items: int, dim: int, seed: int) -> InitialState:
    """Return the shared initial tensors (cached per process)."""
    return initial_state(n_items, dim, seed)


@lru_cache(maxsize=64)
def _store(
    folder: str,
    partition: int,
    num_partitions: int,
    n_users: int,
    key: tuple[int, int, int],
) -> ClientStateStore:
    n_items, dim, seed = key
    users = hosted_users(n_users, partition, num_partitions)
    return ClientStateStore(Path(folder), users, init_for(n_items, dim, seed))


def store_for(
    cfg: ExperimentConfig, state_dir: str, partition: int, num_partitions: int
) -> ClientStateStore:
    """Return the state store of one node (cached per process)."""
    split = split_for(cfg)
    folder = str(Path(state_dir) / f"node-{partition:04d}-of-{num_partitions:04d}")
    key = (split.n_items, cfg.fedrap.dim, cfg.seed)
    return _store(folder, partition, num_partitions, split.n_users, key)


def set_threads(cfg: ExperimentConfig) -> None:
    """Give torch the cores the node was allotted (Ray sets no torch thread count itself)."""
    if torch.get_num_threads() != cfg.federation.node_cpus:
        torch.set_num_threads(cfg.federation.node_cpus)
