from __future__ import annotations

import numpy as np

from fedrec.data import SyntheticSpec, synthetic_interactions


def test_synthetic_is_deterministic_per_seed():
    # Prepare / Execute
    first = synthetic_interactions(50, 80, seed=7)
    again = synthetic_interactions(50, 80, seed=7)
    other = synthetic_interactions(50, 80, seed=8)
    # Assert
    np.testing.assert_array_equal(first.items, again.items)
    np.testing.assert_array_equal(first.timestamps, again.timestamps)
    assert not np.array_equal(first.items, other.items)


def test_synthetic_users_have_at_least_ten_distinct_items_in_time_order():
    # Prepare / Execute
    inter = synthetic_interactions(300, 120, mean_interactions=15, seed=1)
    # Assert
    counts = np.bincount(inter.users, minlength=300)
    assert counts.min() >= 10
    assert 13 < counts.mean() < 17
    pairs = np.unique(inter.users * 120 + inter.items)
    assert len(pairs) == len(inter.users)
    same_user = inter.users[1:] == inter.users[:-1]
    assert np.all(np.diff(inter.timestamps)[same_user] > 0)
    np.testing.assert_array_equal(inter.ratings, 1.0)
    assert len(inter.user_labels) == 300 and len(inter.item_labels) == 120


def test_popularity_skew_concentrates_interactions():
    # Prepare
    n_items = 500
    # Execute
    skewed = synthetic_interactions(400, n_items, popularity_skew=1.0, seed=2)
    flat = synthetic_interactions(400, n_items, popularity_skew=0.0, seed=2)

    # Assert: top 10 % of items get a clearly larger share than the uniform 10 %
    def top_share(items: np.ndarray) -> float:
        counts = np.sort(np.bincount(items, minlength=n_items))[::-1]
        return float(counts[: n_items // 10].sum() / counts.sum())

    assert top_share(skewed.items) > 0.3
    assert top_share(skewed.items) > top_share(flat.items) + 0.1


def test_spec_generate_matches_function():
    # Prepare
    spec = SyntheticSpec(n_users=30, n_items=40, mean_interactions=12, seed=3)
    # Execute
    inter = spec.generate()
    # Assert
    expected = synthetic_interactions(30, 40, mean_interactions=12, seed=3)
    np.testing.assert_array_equal(inter.items, expected.items)
