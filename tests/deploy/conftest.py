"""Small generated user files and configs for the deployment tests (written in tmp dirs)."""

from pathlib import Path

import numpy as np
import pytest

from fedrec.config import ExperimentConfig, load_config
from fedrec.deploy import userfile

N_ITEMS = 40


def device_config(*extra: str) -> ExperimentConfig:
    """A deployment config small enough to train in milliseconds."""
    return load_config(
        overrides=[
            "deployment.enabled=true",
            f"deployment.n_items={N_ITEMS}",
            "fedrap.dim=4",
            "fedrap.local_epochs=2",
            "data.eval_negatives=5",
            "data.min_interactions=5",
            *extra,
        ]
    )


def write_user(path: Path, items: list[int], seed: int = 0) -> Path:
    """Write a user file with increasing timestamps in a shuffled row order."""
    order = np.random.default_rng(seed).permutation(len(items))
    rows = [f"{items[i]},{100 + i}" for i in order]
    path.write_text("item,timestamp\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _fresh_split_cache():
    userfile._cached_split.cache_clear()
    yield
    userfile._cached_split.cache_clear()
