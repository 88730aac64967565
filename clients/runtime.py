"""Per-process resources of a node: the data split and the algorithm.

A Ray actor serves many nodes and many rounds; loading the dataset for every message would
dominate a round, so it is cached here per process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
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
    spec = SyntheticSpec.from_config(cfg.data.synthetic, cfg.seed)
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


def prepare_process(cfg: ExperimentConfig) -> None:
    """Set up a node's process once: torch threads for its cores, and the memory allocator."""
    if torch.get_num_threads() != cfg.federation.node_cpus:
        torch.set_num_threads(cfg.federation.node_cpus)  # Ray sets no torch thread count itself
    _keep_freed_memory()


@lru_cache(maxsize=1)
def _keep_freed_memory() -> bool:
    """Make glibc reuse freed large blocks instead of unmapping and re-faulting them.

    glibc serves every allocation above 32 MiB with a fresh ``mmap`` and unmaps it on free, so
    each large tensor of a cohort pays its page faults again; on these virtual machines that was
    about 0.2 s per 70 MB tensor and a third of an ML-1M round. Serving them from the heap, and
    returning memory to the system only when 256 MiB lie free at its top, removes that cost.
    Returns whether the allocator could be tuned (glibc only; elsewhere nothing changes).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(mallopt(m_trim_threshold, 256 * 2**20)) and bool(mallopt(m_mmap_max, 0))
