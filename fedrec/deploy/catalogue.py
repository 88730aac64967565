"""The item catalogue as the server of a deployment knows it: a size, and no users."""

from __future__ import annotations

import numpy as np

from fedrec.data.types import SplitData


def catalogue_only(n_items: int) -> SplitData:
    """Return a split with ``n_items`` items and no users.

    The server of a deployment reads no client data; algorithms size their global arrays from
    a split's catalogue only (:meth:`fedrec.algorithms.base.Algorithm.initial_global`), so this
    empty split is all they need.
    """
    if n_items < 1:
        raise ValueError(f"a catalogue needs at least one item, got n_items={n_items}")
    empty = np.zeros(0, dtype=np.int64)
    return SplitData(
        name="catalogue",
        n_users=0,
        n_items=n_items,
        train_indptr=np.zeros(1, dtype=np.int64),
        train_items=empty,
        val_items=empty,
        test_items=empty,
        eval_negatives=np.zeros((0, 0), dtype=np.int64),
    )
