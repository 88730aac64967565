"""Every aggregation rule on sparse per-user updates against a dense reference computation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedrec.aggregation.optimisers import AdaptiveStep, adam_moment, adaptive_step, yogi_moment
from fedrec.aggregation.rules import (
    coordinate_rule,
    krum_select,
    median,
    pairwise_sq_distances,
    per_item_mean,
    trimmed_mean,
    weighted_mean,
)
from fedrec.config import load_config
from strategies import create_rule
from strategies.rules import RoundInputs
from tests.aggregation.test_updates import make_updates

SHAPES = {"n_users": st.integers(1, 7), "n_items": st.integers(2, 15), "seed": st.integers(0, 999)}


def _case(n_users, n_items, seed):
    updates = make_updates(n_users=n_users, n_items=n_items, dim=3, seed=seed)
    item_global = np.random.default_rng(seed + 1).normal(size=(n_items, 3)).astype(np.float32)
    return updates, item_global, updates.dense(item_global)


@settings(max_examples=40, deadline=None)
@given(**SHAPES)
def test_weighted_mean_matches_the_dense_mean(n_users, n_items, seed):
    updates, g, dense = _case(n_users, n_items, seed)
    expected = np.average(dense, axis=0, weights=updates.weights)
    np.testing.assert_allclose(weighted_mean(updates, g), expected, rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(**SHAPES)
def test_per_item_mean_averages_each_row_over_the_users_that_touched_it(n_users, n_items, seed):
    # Prepare
    updates, g, dense = _case(n_users, n_items, seed)
    touched = np.zeros((updates.n_users, n_items), dtype=bool)
    touched[updates.owners(), updates.rows] = True
    # Execute
    actual = per_item_mean(updates, g)
    # Assert
    for i in range(n_items):
        who = touched[:, i]
        if who.any():
            expected = np.average(dense[who, i], axis=0, weights=updates.weights[who])
        else:
            expected = np.average(dense[:, i], axis=0, weights=updates.weights)
        np.testing.assert_allclose(actual[i], expected, rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(beta=st.floats(0.0, 0.45), **SHAPES)
def test_coordinate_rules_match_numpy_on_the_dense_matrices(beta, n_users, n_items, seed):
    # Prepare
    updates, g, dense = _case(n_users, n_items, seed)
    cut = min(int(np.floor(beta * n_users)), (n_users - 1) // 2)
    # Execute
    med = coordinate_rule(updates, g, median)
    trimmed = coordinate_rule(updates, g, trimmed_mean(beta))
    # Assert
    np.testing.assert_allclose(med, np.median(dense, axis=0), rtol=1e-5, atol=1e-6)
    expected = np.sort(dense, axis=0)[cut : n_users - cut].mean(axis=0)
    np.testing.assert_allclose(trimmed, expected, rtol=1e-5, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(**SHAPES)
def test_pairwise_distances_match_the_dense_ones(n_users, n_items, seed):
    updates, g, dense = _case(n_users, n_items, seed)
    flat = dense.reshape(updates.n_users, -1)
    expected = ((flat[:, None] - flat[None]) ** 2).sum(-1)
    np.testing.assert_allclose(pairwise_sq_distances(updates, g), expected, rtol=1e-6, atol=1e-6)


def _with_outlier(scale=1000.0):
    updates, g, _ = _case(9, 12, 3)
    updates.values[updates.offsets[4] : updates.offsets[5]] *= scale
    return updates, g


@pytest.mark.parametrize("name", ["fedmedian", "trimmed_mean", "krum"])
def test_robust_rules_reject_an_outlier_that_moves_fedavg(name):
    # Prepare
    updates, g = _with_outlier()
    clean = updates.select(np.arange(updates.n_users) != 4)
    cfg = load_config(overrides=[f"federation.strategy={name}", "strategy.trimmed_mean.beta=0.2"])
    inputs = RoundInputs(mean={"c": weighted_mean(updates, g)}, users={"c": updates})
    # Execute
    robust = create_rule(cfg).aggregate("c", g, inputs)
    plain = weighted_mean(updates, g)
    # Assert: FedAvg is dragged far away, the robust rule stays within the clean users' range.
    reference = weighted_mean(clean, g)
    assert np.abs(plain - reference).max() > 10
    assert np.abs(robust - reference).max() < 3


def test_multi_krum_leaves_the_outlier_out():
    updates, g = _with_outlier()
    selected = krum_select(pairwise_sq_distances(updates, g), num_malicious=1, num_selected=6)
    assert 4 not in selected and len(selected) == 6


def test_adam_and_yogi_steps_match_their_formulas():
    # Prepare
    g = np.array([1.0, -2.0, 0.0])
    delta = np.array([0.5, 0.0, -1.0])
    hp = AdaptiveStep(lr=0.1, beta1=0.9, beta2=0.99, tau=1e-3)
    # Execute
    adam, m, v = adaptive_step(g, delta, (None, None), hp, adam_moment)
    yogi, _, v_yogi = adaptive_step(g, delta, (None, None), hp, yogi_moment)
    # Assert
    m_ref = 0.1 * delta
    v_ref = 0.99 * 1e-6 + 0.01 * delta**2
    np.testing.assert_allclose(m, m_ref)
    np.testing.assert_allclose(v, v_ref)
    np.testing.assert_allclose(adam, g + 0.1 * m_ref / (np.sqrt(v_ref) + 1e-3), rtol=1e-6)
    v_yogi_ref = 1e-6 - 0.01 * delta**2 * np.sign(1e-6 - delta**2)
    np.testing.assert_allclose(v_yogi, v_yogi_ref)
    assert np.all(np.isfinite(yogi))


@pytest.mark.parametrize("name", ["fedavgm", "fedadam", "fedyogi", "fedadagrad"])
def test_server_optimisers_step_along_the_pseudo_gradient_and_keep_state(name):
    # Prepare
    g = np.zeros((3, 2), dtype=np.float32)
    mean = np.ones((3, 2), dtype=np.float32)
    rule = create_rule(load_config(overrides=[f"federation.strategy={name}"]))
    inputs = RoundInputs(mean={"c": mean}, users={})
    # Execute
    first = rule.aggregate("c", g, inputs)
    state = rule.state()
    restored = create_rule(load_config(overrides=[f"federation.strategy={name}"]))
    restored.load_state(state, {"c": (3, 2)})
    # Assert: every entry moves towards the mean, and the state survives a checkpoint.
    assert np.all(first > 0)
    np.testing.assert_allclose(
        restored.aggregate("c", first, inputs), rule.aggregate("c", first, inputs)
    )


def test_an_unknown_strategy_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"known: .*fedavg"):
        create_rule(load_config(overrides=["federation.strategy=nope"]))
