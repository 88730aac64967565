"""A node's users give the same global update and ranks however users are split into nodes."""

import dataclasses

import numpy as np
import torch

from fedrec.algorithms.fedrap.node import (
    evaluate_node,
    hosted_users,
    participants,
    train_node,
)
from fedrec.config import load_config
from fedrec.models.fedrap import initial_state
from fedrec.state.store import ClientStateStore
from tests.factories import tiny_split


def _federation(tmp_path, split, cfg, num_nodes, rounds=2):
    init = initial_state(split.n_items, cfg.fedrap.dim, cfg.seed)
    stores = [
        ClientStateStore(
            tmp_path / f"n{num_nodes}-{p}",
            hosted_users(split.n_users, p, num_nodes),
            init,
        )
        for p in range(num_nodes)
    ]
    item_global = init.item_global
    for server_round in range(1, rounds + 1):
        results = []
        for store in stores:
            users = participants(store.users, cfg.federation.participation, cfg.seed, server_round)
            results.append(train_node(split, users, store, item_global, cfg, server_round))
        total = sum(r.global_sum for r in results)
        item_global = total / sum(r.weight_sum for r in results)
    ranks = [evaluate_node(split, s.users, s, item_global, 4) for s in stores]
    return item_global, {k: np.concatenate([r[k] for r in ranks]) for k in ranks[0]}


def test_results_are_identical_for_one_two_or_three_nodes_and_any_cohort_size(tmp_path):
    # Prepare
    split = tiny_split(n_users=14)
    cfg = load_config(
        overrides=[
            "fedrap.dim=4",
            "fedrap.local_epochs=3",
            "federation.participation=0.7",
        ]
    )
    small = dataclasses.replace(cfg, federation=dataclasses.replace(cfg.federation, cohort_size=3))
    # Execute
    c1, r1 = _federation(tmp_path, split, cfg, 1)
    c2, r2 = _federation(tmp_path, split, small, 2)
    c3, r3 = _federation(tmp_path, split, cfg, 3)
    # Assert
    torch.testing.assert_close(c1, c2, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(c1, c3, atol=1e-5, rtol=1e-5)
    for key in r1:
        np.testing.assert_array_equal(r1[key], r2[key])
        np.testing.assert_array_equal(r1[key], r3[key])


def test_participation_is_a_fraction_of_users_drawn_per_round():
    users = np.arange(10_000)
    chosen = participants(users, 0.25, seed=0, server_round=3)
    assert abs(len(chosen) / len(users) - 0.25) < 0.02
    assert not np.array_equal(chosen, participants(users, 0.25, seed=0, server_round=4))
    assert np.array_equal(participants(users, 1.0, 0, 1), users)
