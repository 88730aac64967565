"""A node's users give the same global update and ranks however users are split into nodes."""

import dataclasses

import numpy as np
import torch

from fedrec.algorithms.fedrap.node import ITEM_GLOBAL, evaluate_node, train_node
from fedrec.algorithms.participation import hosted_users, participants
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
            results.append(train_node(split, store.users, store, item_global, cfg, server_round))
        total = sum(r.sums[ITEM_GLOBAL] for r in results)
        item_global = total / sum(r.weight_sum for r in results)
    ranks = [evaluate_node(split, s.users, s, item_global, cfg) for s in stores]
    return item_global, {k: np.concatenate([r[k] for r in ranks]) for k in ranks[0]}


def test_results_are_identical_for_one_two_or_three_nodes_and_any_cohort_size(tmp_path):
    # Prepare
    split = tiny_split(n_users=14)
    cfg = load_config(
        overrides=[
            "fedrap.dim=4",
            "fedrap.local_epochs=3",
            "federation.participation=0.7",
            "federation.dropout=0.2",
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


def _cfg(*overrides):
    return load_config(overrides=list(overrides))


def test_participation_is_a_fraction_of_users_drawn_per_round():
    users = np.arange(10_000)
    chosen, dropped = participants(users, 10_000, _cfg("federation.participation=0.25"), 3)
    assert abs(len(chosen) / len(users) - 0.25) < 0.02 and dropped == 0
    again, _ = participants(users, 10_000, _cfg("federation.participation=0.25"), 4)
    assert not np.array_equal(chosen, again)
    assert np.array_equal(participants(users, 10_000, _cfg(), 1)[0], users)


def test_clients_per_round_is_exact_across_nodes_and_dropout_removes_a_share():
    # Prepare: 1,000 users hosted by 3 nodes, 100 clients per round.
    cfg = _cfg("federation.clients_per_round=100")
    nodes = [hosted_users(1000, p, 3) for p in range(3)]
    # Execute
    chosen = np.concatenate([participants(users, 1000, cfg, 5)[0] for users in nodes])
    survivors, dropped = participants(chosen, 1000, _cfg("federation.dropout=0.3"), 5)
    # Assert
    assert len(chosen) == 100 and len(np.unique(chosen)) == 100
    assert len(survivors) + dropped == 100 and 15 <= dropped <= 45


def test_dropped_clients_contribute_nothing_and_the_rest_still_aggregate(tmp_path):
    # Prepare
    split = tiny_split(n_users=20)
    cfg = _cfg("fedrap.dim=4", "fedrap.local_epochs=2", "federation.dropout=0.5")
    init = initial_state(split.n_items, 4, cfg.seed)
    store = ClientStateStore(tmp_path, np.arange(20), init)
    # Execute
    result = train_node(split, np.arange(20), store, init.item_global, cfg, 1)
    survivors, dropped = participants(np.arange(20), 20, cfg, 1)
    # Assert: the weight counts survivors only, and dropped users were not trained.
    assert result.num_users == len(survivors) and result.num_dropped == dropped > 0
    assert result.weight_sum == len(survivors)
    gone = np.setdiff1d(np.arange(20), survivors)
    torch.testing.assert_close(store.load(gone).item_local[0], init.item_local)
