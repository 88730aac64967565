"""MostPop and Random on hand-made and generated data, without Flower."""

from pathlib import Path

import numpy as np
import torch

from fedrec.algorithms import create_algorithm
from fedrec.algorithms.base import NodeData
from fedrec.config import load_config
from fedrec.data.csr import offsets
from fedrec.data.types import SplitData
from fedrec.metrics import hit_rate
from tests.factories import tiny_split


def _federate(algorithm, split, users):
    """One round with one node, then the aggregated global arrays, as the strategy divides."""
    node = NodeData(split, users, Path("/nonexistent"))
    arrays = {k: torch.from_numpy(v) for k, v in algorithm.initial_global(split).items()}
    update = algorithm.train_node(node, arrays, server_round=1)
    return node, {k: v / update.weight_sum for k, v in update.sums.items()}


def test_most_pop_ranks_items_by_how_many_users_trained_on_them():
    # Prepare: items 0 and 1 are popular in training; users hold out 2 (val) and 3 or 4 (test).
    train = [[0, 1], [0, 1], [0, 5]]
    split = SplitData(
        name="hand",
        n_users=3,
        n_items=8,
        train_indptr=offsets(np.array([2, 2, 2])),
        train_items=np.array([i for items in train for i in items], dtype=np.int64),
        val_items=np.array([2, 2, 2]),
        test_items=np.array([5, 3, 4]),
        eval_negatives=np.array([[6, 7], [6, 7], [6, 7]]),
    )
    algorithm = create_algorithm(load_config(overrides=["algorithm=mostpop"]))
    # Execute
    node, arrays = _federate(algorithm, split, np.arange(3))
    ranks = algorithm.evaluate_node(node, arrays)
    # Assert: popularity counts 0:3, 1:2, 5:1, everything else 0.
    np.testing.assert_allclose(arrays["item-popularity"].numpy() * 3, [3, 2, 0, 0, 0, 1, 0, 0])
    # User 0's test item 5 (count 1) beats its negatives 6, 7 (count 0): rank 1.
    # Users 1, 2: test items with count 0 tie with both negatives: ranked below them, rank 3.
    assert ranks["test_sampled"].tolist() == [1, 3, 3]
    # Full ranking for user 1 (trained 0, 1; val 2 masked): items 4,5,6,7 compete with 3;
    # 5 (count 1) beats it and 4, 6, 7 tie with it, so it ranks 5th.
    assert ranks["test_full"].tolist()[1] == 5


def test_random_scores_give_hr10_of_one_tenth_on_sampled_99():
    # Prepare: 4,000 users, 99 negatives each.
    rng = np.random.default_rng(0)
    n_users, n_items = 4000, 300
    counts = np.full(n_users, 3)
    train = np.stack([rng.choice(n_items, 104, replace=False) for _ in range(n_users)])
    split = SplitData(
        name="random",
        n_users=n_users,
        n_items=n_items,
        train_indptr=offsets(counts),
        train_items=np.sort(train[:, :3], axis=1).ravel(),
        val_items=train[:, 3],
        test_items=train[:, 4],
        eval_negatives=train[:, 5:],
    )
    algorithm = create_algorithm(load_config(overrides=["algorithm=random", "seed=3"]))
    # Execute
    node, arrays = _federate(algorithm, split, np.arange(n_users))
    hr = hit_rate(algorithm.evaluate_node(node, arrays)["test_sampled"], 10).mean()
    # Assert: 10/100 with a binomial standard error of about 0.0047 over 4,000 users.
    assert abs(hr - 0.10) < 0.02


def test_unknown_algorithm_lists_the_known_ones():
    import pytest

    with pytest.raises(ValueError, match="mostpop"):
        create_algorithm(load_config(overrides=["algorithm=no-such-algorithm"]))


def test_most_pop_counts_only_participants():
    split = tiny_split(n_users=10)
    algorithm = create_algorithm(
        load_config(overrides=["algorithm=mostpop", "federation.dropout=0.5"])
    )
    node = NodeData(split, np.arange(10), Path("/nonexistent"))
    update = algorithm.train_node(node, {}, server_round=2)
    assert update.num_users + update.num_dropped == 10
    assert float(update.sums["item-popularity"].sum()) == update.num_examples
