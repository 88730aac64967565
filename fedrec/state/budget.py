"""Memory budgets: where the client state store lives, and how many users a cohort holds.

The store must be reachable from every Ray actor, so "in RAM" means a tmpfs (``/dev/shm``)
that all processes share; when the store does not fit its budget (or no tmpfs has room) it lives
in the run folder on disk, memory-mapped, and the operating system pages it in as needed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import SplitData
from fedrec.models.params import model_layout
from fedrec.models.registry import model_class

RAM_ROOT = Path("/dev/shm")
_FLOAT = 4


@dataclass(frozen=True)
class StorePlacement:
    """Where a run's client state store lives, and why."""

    path: Path
    in_ram: bool
    store_bytes: int


def store_bytes(
    n_users: int, n_items: int, width: int, private_floats: int, local_bytes: int = _FLOAT
) -> int:
    """Return the size of a fully written store: D, its scale, the private parameters, a flag.

    ``width`` is one row of D (the base model's item width), ``private_floats`` the user's own
    model parameters (the affine head: ``dim + 1``) and ``local_bytes`` the size of one stored
    element of D (``federation.state_precision``).
    """
    per_user = n_items * width * local_bytes + 8 + private_floats * _FLOAT + 1
    return n_users * per_user


def model_store_bytes(cfg: ExperimentConfig, n_users: int, n_items: int) -> int:
    """Return :func:`store_bytes` for the configured base model and state precision."""
    dim, model = cfg.fedrap.dim, cfg.model
    width = model_class(model).item_width(dim, model)
    private = model_layout(model, dim, cfg.seed).private.size
    local_bytes = np.dtype(cfg.federation.state_precision).itemsize
    return store_bytes(n_users, n_items, width, private, local_bytes)


def place_store(run_dir: Path, run_name: str, size: int, budget_mb: int) -> StorePlacement:
    """Put the store in RAM (tmpfs) if it fits ``budget_mb`` and the tmpfs, else on disk."""
    fits = size <= budget_mb * 2**20
    ram_ok = RAM_ROOT.is_dir() and os.access(RAM_ROOT, os.W_OK)
    if fits and ram_ok and shutil.disk_usage(RAM_ROOT).free > 2 * size:
        return StorePlacement(ram_store_path(run_dir, run_name), True, size)
    return StorePlacement(run_dir / "client_state", False, size)


def ram_store_path(run_dir: Path, run_name: str) -> Path:
    """Return where the store of the run in ``run_dir`` lives when it is placed in RAM."""
    unique = hashlib.sha1(str(run_dir.resolve()).encode()).hexdigest()[:10]
    return RAM_ROOT / f"fedrec-{run_name}-{unique}"


def cohort_size(split: SplitData, cfg: ExperimentConfig) -> int:
    """Return ``federation.cohort_size``, or if 0 the most users that fit ``cohort_memory_mb``.

    Per user, training holds about eight ``dim``-wide float buffers per touched row (at most
    ``(1 + num_negatives)`` rows per training positive) and evaluation a dense D and score rows.
    """
    fed = cfg.federation
    if fed.cohort_size > 0:
        return fed.cohort_size
    dim = cfg.fedrap.dim
    rows = float(np.mean(split.train_counts())) * (1 + cfg.fedrap.num_negatives)
    train = rows * (8 * dim * _FLOAT + 48)
    evaluate = split.n_items * (2 * dim * _FLOAT + 4 * _FLOAT)
    return max(1, int(fed.cohort_memory_mb * 2**20 // max(train, evaluate)))
