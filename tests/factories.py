"""Small generated datasets for tests (no file I/O, deterministic)."""

from __future__ import annotations

import numpy as np

from fedrec.data.csr import offsets
from fedrec.data.types import SplitData


def tiny_split(
    n_users: int = 12,
    n_items: int = 40,
    min_train: int = 4,
    max_train: int = 15,
    seed: int = 0,
) -> SplitData:
    """A random leave-one-out split: distinct items per user, 5 evaluation negatives."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(min_train, max_train + 1, size=n_users)
    train, val, test, negs = [], [], [], []
    for c in counts:
        items = rng.permutation(n_items)
        train.append(np.sort(items[:c]))
        val.append(items[c])
        test.append(items[c + 1])
        negs.append(items[c + 2 : c + 7])
    return SplitData(
        name="tiny",
        n_users=n_users,
        n_items=n_items,
        train_indptr=offsets(counts.astype(np.int64)),
        train_items=np.concatenate(train).astype(np.int64),
        val_items=np.array(val, dtype=np.int64),
        test_items=np.array(test, dtype=np.int64),
        eval_negatives=np.stack(negs).astype(np.int64),
    )


def tiny_synthetic(n_users: int = 40, n_items: int = 80, *extra: str) -> list[str]:
    """Overrides for a seconds-long end-to-end run on generated data."""
    return [
        "dataset=synthetic",
        f"data.synthetic.n_users={n_users}",
        f"data.synthetic.n_items={n_items}",
        f"data.eval_negatives={min(30, n_items // 3)}",
        "fedrap.dim=8",
        "fedrap.local_epochs=2",
        "progress=false",
        *extra,
    ]
