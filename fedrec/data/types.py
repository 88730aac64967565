"""The data containers every other part of fedrec reads.

Users and items are dense integer ids ``0..n-1`` after preprocessing; per-user lists are kept in
CSR form (``indptr`` of length ``n_users + 1`` into a flat array) so that a cohort of users can be
gathered with vectorised indexing instead of Python loops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Interactions:
    """Raw implicit interactions after reading a file, before any filtering.

    Parameters
    ----------
    users, items : IntArray
        Dense ids, one entry per interaction.
    timestamps : FloatArray
        Interaction times; files without times use row order.
    ratings : FloatArray
        Raw rating or weight (implicit feedback keeps rows with ``rating > 0``).
    user_labels, item_labels : list[str]
        Original ids, indexed by dense id.
    """

    users: IntArray
    items: IntArray
    timestamps: FloatArray
    ratings: FloatArray
    user_labels: list[str]
    item_labels: list[str]


@dataclass(frozen=True)
class SplitData:
    """A leave-one-out split of implicit feedback, ready for federated training.

    Parameters
    ----------
    name : str
        Dataset name as registered.
    n_users, n_items : int
        Sizes of the dense id spaces.
    train_indptr : IntArray
        CSR offsets, shape ``(n_users + 1,)``.
    train_items : IntArray
        Each user's training positives, sorted ascending within the user.
    val_items, test_items : IntArray
        Held-out item per user, shape ``(n_users,)``: second latest and latest interaction.
    eval_negatives : IntArray
        Shape ``(n_users, n_eval_negatives)``: items the user never interacted with, sampled
        once with the split's seed; shared by validation and test (as the reference code does).
    n_fake : int
        The last ``n_fake`` users are an attacker's fake users (``fedrec.attack``); they train
        like everyone else but are left out of every evaluation metric.
    """

    name: str
    n_users: int
    n_items: int
    train_indptr: IntArray
    train_items: IntArray
    val_items: IntArray
    test_items: IntArray
    eval_negatives: IntArray
    n_fake: int = 0

    def train_counts(self) -> IntArray:
        """Return the number of training positives per user."""
        return np.diff(self.train_indptr)

    def user_train_items(self, user: int) -> IntArray:
        """Return one user's sorted training positives."""
        return self.train_items[self.train_indptr[user] : self.train_indptr[user + 1]]
