from __future__ import annotations

import numpy as np
import pytest

from fedrec.data import (
    DataFormatError,
    Interactions,
    implicit_and_filter,
    leave_one_out,
)
from fedrec.data.preprocess import eval_negatives


def _inter(users, items, times=None, ratings=None) -> Interactions:
    users, items = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
    n = len(users)
    return Interactions(
        users=users,
        items=items,
        timestamps=np.arange(n, dtype=float) if times is None else np.asarray(times, float),
        ratings=np.ones(n) if ratings is None else np.asarray(ratings, float),
        user_labels=[f"u{u}" for u in range(int(users.max()) + 1)],
        item_labels=[f"i{i}" for i in range(int(items.max()) + 1)],
    )


def test_filter_drops_zero_ratings_and_keeps_latest_duplicate():
    # Prepare: (0, 1) appears twice, the later one at t=9; (0, 2) has rating 0
    inter = _inter([0, 0, 0, 0], [0, 1, 1, 2], times=[1, 9, 3, 4], ratings=[1, 2, 5, 0])
    # Execute
    out = implicit_and_filter(inter, min_interactions=1)
    # Assert
    np.testing.assert_array_equal(out.items, [0, 1])
    np.testing.assert_array_equal(out.timestamps, [1.0, 9.0])
    np.testing.assert_array_equal(out.ratings, [1.0, 2.0])
    assert out.item_labels == ["i0", "i1"]


def test_filter_drops_sparse_users_and_orphan_items_and_reindexes():
    # Prepare: user 1 has 2 distinct items (one duplicated), users 0 and 2 have 3; item 4 is
    # only used by user 1
    inter = _inter([0, 1, 1, 1, 0, 2, 0, 2, 2], [0, 4, 1, 4, 1, 3, 3, 0, 1])
    # Execute
    out = implicit_and_filter(inter, min_interactions=3)
    # Assert
    assert out.user_labels == ["u0", "u2"]
    assert out.item_labels == ["i0", "i1", "i3"]
    np.testing.assert_array_equal(out.users, [0, 0, 1, 0, 1, 1])
    np.testing.assert_array_equal(out.items, [0, 1, 2, 2, 0, 1])


def _split_input() -> Interactions:
    # user 0: items 5,3,1,4 at times 1,2,3,3 (tie: row order makes 4 latest, 1 second latest)
    # user 1: items 2,0,6 at times 5,1,9
    return _inter(
        [0, 1, 0, 0, 1, 0, 1],
        [5, 2, 3, 1, 0, 4, 6],
        times=[1, 5, 2, 3, 1, 3, 9],
    )


def test_leave_one_out_holds_out_latest_and_breaks_ties_by_row():
    # Prepare
    inter = _split_input()
    # Execute
    split = leave_one_out(inter, "toy", n_eval_negatives=2, seed=0)
    # Assert
    np.testing.assert_array_equal(split.test_items, [4, 6])
    np.testing.assert_array_equal(split.val_items, [1, 2])
    np.testing.assert_array_equal(split.train_indptr, [0, 2, 3])
    np.testing.assert_array_equal(split.user_train_items(0), [3, 5])
    np.testing.assert_array_equal(split.user_train_items(1), [0])
    assert (split.name, split.n_users, split.n_items) == ("toy", 2, 7)


def test_leave_one_out_rejects_short_users_and_duplicates():
    # Prepare
    short = _inter([0, 0, 1, 1, 1], [0, 1, 0, 1, 2])
    repeated = _inter([0, 0, 0, 0], [0, 1, 1, 2])
    # Execute / Assert
    with pytest.raises(DataFormatError, match="at least 3"):
        leave_one_out(short, "short", n_eval_negatives=0)
    with pytest.raises(DataFormatError, match="repeated"):
        leave_one_out(repeated, "rep", n_eval_negatives=0)


def _random_inter(n_users=60, n_items=150, seed=1) -> Interactions:
    rng = np.random.default_rng(seed)
    counts = rng.integers(3, 40, size=n_users)
    items = np.concatenate([rng.choice(n_items, c, replace=False) for c in counts])
    inter = _inter(
        np.repeat(np.arange(n_users), counts),
        items,
        times=rng.integers(0, 5, len(items)),
    )
    return Interactions(
        inter.users, inter.items, inter.timestamps, inter.ratings, inter.user_labels,
        [f"i{i}" for i in range(n_items)],
    )  # fmt: skip


def test_split_csr_is_consistent_and_sorted():
    # Prepare
    inter = _random_inter()
    # Execute
    split = leave_one_out(inter, "rand", n_eval_negatives=10)
    # Assert
    counts = np.bincount(inter.users)
    np.testing.assert_array_equal(split.train_counts() + 2, counts)
    assert split.train_indptr[-1] == len(split.train_items)
    for u in range(split.n_users):
        train = split.user_train_items(u)
        assert np.all(np.diff(train) > 0)
        held = {int(split.val_items[u]), int(split.test_items[u])}
        assert set(train.tolist()) | held == set(inter.items[inter.users == u].tolist())
        assert len(held) == 2


def test_eval_negatives_distinct_unseen_and_seeded():
    # Prepare
    inter = _random_inter()
    # Execute
    first = eval_negatives(inter, 99, seed=3)
    again = eval_negatives(inter, 99, seed=3)
    other = eval_negatives(inter, 99, seed=4)
    # Assert
    assert first.shape == (60, 99)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    for u in range(60):
        assert len(set(first[u].tolist())) == 99
        assert not set(first[u].tolist()) & set(inter.items[inter.users == u].tolist())


def test_eval_negatives_cover_the_complement_uniformly():
    # Prepare: one user who saw items 0..3 out of 10, drawing 3 negatives many times
    inter = _inter([0, 0, 0, 0], [0, 1, 2, 3])
    inter = Interactions(inter.users, inter.items, inter.timestamps, inter.ratings,
                         inter.user_labels, [str(i) for i in range(10)])  # fmt: skip
    # Execute
    draws = np.concatenate([eval_negatives(inter, 3, seed=s)[0] for s in range(300)])
    # Assert
    freq = np.bincount(draws, minlength=10)
    assert freq[:4].sum() == 0
    assert freq[4:].min() > 0.7 * 150


def test_eval_negatives_too_few_candidates_raises():
    # Prepare
    inter = _inter([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 3, 4])
    # Execute / Assert
    with pytest.raises(DataFormatError, match="'u0' has 2 non-interacted items"):
        eval_negatives(inter, 3, seed=0)


def test_eval_negatives_do_not_depend_on_chunk_size(monkeypatch):
    # Prepare
    inter = _random_inter()
    whole = eval_negatives(inter, 20, seed=5)
    monkeypatch.setattr("fedrec.data.preprocess._CHUNK_ELEMENTS", 7 * 150)
    # Execute
    chunked = eval_negatives(inter, 20, seed=5)
    # Assert
    np.testing.assert_array_equal(whole, chunked)
