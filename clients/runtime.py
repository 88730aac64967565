"""Per-process resources of a node: the data split and the algorithm.

A Ray actor serves many nodes and many rounds; loading the dataset for every message would
dominate a round, so it is cached here per process.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from fedrec.algorithms import Algorithm, create_algorithm
from fedrec.attack import poison_split
from fedrec.config.schema import ExperimentConfig
from fedrec.data import SyntheticSpec, load_split
from fedrec.data.types import SplitData


@lru_cache(maxsize=8)
def split_for(cfg: ExperimentConfig) -> SplitData:
    """Return the configured dataset split, with an attack's fake users (cached per process)."""
    syn = cfg.data.synthetic
    spec = SyntheticSpec(
        n_users=syn.n_users,
        n_items=syn.n_items,
        mean_interactions=syn.mean_interactions,
        popularity_skew=syn.popularity_skew,
        seed=cfg.seed,
    )
    split = load_split(
        cfg.dataset,
        cfg.data.path,
        min_interactions=cfg.data.min_interactions,
        n_eval_negatives=cfg.data.eval_negatives,
        seed=cfg.seed,
        synthetic=spec if cfg.dataset == "synthetic" else None,
    )
    return poison_split(split, cfg.attack, cfg.seed)


@lru_cache(maxsize=8)
def algorithm_for(cfg: ExperimentConfig) -> Algorithm:
    """Return the configured algorithm (one instance per config and process)."""
    return create_algorithm(cfg)


def set_threads(cfg: ExperimentConfig) -> None:
    """Give torch the cores the node was allotted (Ray sets no torch thread count itself)."""
    if torch.get_num_threads() != cfg.federation.node_cpus:
        torch.set_num_threads(cfg.federation.node_cpus)
