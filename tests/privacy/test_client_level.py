"""Client-level DP maths on sparse row updates: norms, clipping, sums, noise, accounting."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opacus.accountants import RDPAccountant

from fedrec.aggregation.updates import UserUpdates
from fedrec.config.client_dp import ClientDPConfig
from fedrec.privacy.client_level import (
    AdaptiveBound,
    client_dp_summary,
    client_level_epsilon,
    clip_updates,
    expected_clients,
    noise_parameters,
    noisy_dense,
    update_norms,
    update_sum,
)


def random_updates(seed: int, n_users: int, n_items: int, dim: int) -> UserUpdates:
    """Users with distinct random rows, scales around 1 and values of varied size."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, n_items + 1, size=n_users)
    rows = np.concatenate([rng.permutation(n_items)[:c] for c in counts]).astype(np.int64)
    size = rng.choice([0.01, 1.0, 30.0], size=n_users)
    owners = np.repeat(np.arange(n_users), counts)
    values = (rng.normal(size=(len(rows), dim)) * size[owners, None]).astype(np.float32)
    return UserUpdates(
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        rows=rows,
        values=values,
        scales=rng.uniform(0.5, 1.5, size=n_users),
        weights=np.ones(n_users),
    )


shapes = st.tuples(st.integers(0, 2**16), st.integers(1, 8), st.integers(1, 20), st.integers(1, 6))


@settings(max_examples=40, deadline=None)
@given(shapes, st.floats(0.01, 50.0))
def test_clipped_updates_are_within_the_bound_for_every_user(shape, bound):
    # Prepare
    seed, n_users, n_items, dim = shape
    updates = random_updates(seed, n_users, n_items, dim)
    g = np.random.default_rng(seed + 1).normal(size=(n_items, dim)).astype(np.float32)
    # Execute
    clipped, norms = clip_updates(updates, g, bound)
    # Assert: on the dense Δ_u = C_u − G, untouched rows' (s_u − 1)·G included
    dense = updates.dense(g) - g[None].astype(np.float64)
    np.testing.assert_allclose(norms, np.linalg.norm(dense.reshape(n_users, -1), axis=1), rtol=1e-5)
    after = np.linalg.norm((clipped.dense(g) - g[None]).reshape(n_users, -1), axis=1)
    assert np.all(after <= bound * (1 + 1e-4) + 1e-5)
    small = norms <= bound
    np.testing.assert_allclose(after[small], norms[small], rtol=1e-4, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(shapes)
def test_update_sum_equals_the_dense_sum_of_updates(shape):
    # Prepare
    seed, n_users, n_items, dim = shape
    updates = random_updates(seed, n_users, n_items, dim)
    g = np.random.default_rng(seed + 2).normal(size=(n_items, dim)).astype(np.float32)
    # Execute
    total = update_sum(updates, g)
    # Assert
    expected = (updates.dense(g) - g[None]).sum(axis=0)
    np.testing.assert_allclose(total, expected, rtol=1e-5, atol=1e-4)


def test_update_norms_of_an_untouched_user_is_its_decay_of_g():
    # Prepare: no rows, scale 0.9 → Δ = −0.1·G
    g = np.full((4, 2), 2.0, dtype=np.float32)
    updates = UserUpdates(
        np.array([0, 0]),
        np.zeros(0, np.int64),
        np.zeros((0, 2), np.float32),
        np.array([0.9]),
        np.ones(1),
    )
    # Execute
    norms = update_norms(updates, g)
    # Assert
    np.testing.assert_allclose(norms, [0.1 * np.linalg.norm(g)])


def test_local_noise_uploads_every_row_with_the_asked_std():
    # Prepare
    updates = random_updates(3, 4, 30, 5)
    g = np.zeros((30, 5), np.float32)
    # Execute
    noisy = noisy_dense(updates, g, 0.5, np.random.default_rng(0))
    # Assert
    assert np.all(np.diff(noisy.offsets) == 30)
    residual = noisy.dense(g) - updates.dense(g)
    assert abs(residual.std() - 0.5) < 0.05


def test_adaptive_bound_moves_towards_the_target_quantile_from_both_sides():
    # Prepare: norms 1..100, so the median is about 50
    norms = np.arange(1.0, 101.0)
    rng = np.random.default_rng(0)
    low = AdaptiveBound(bound=0.1, target=0.5, lr=0.2, count_std=1.0)
    high = AdaptiveBound(bound=1e4, target=0.5, lr=0.2, count_std=1.0)
    # Execute
    for _ in range(200):
        low.step(norms, 100.0, rng)
        high.step(norms, 100.0, rng)
    # Assert
    assert 35 < low.bound < 65
    assert 35 < high.bound < 65


def test_adaptive_noise_splits_sigma_between_updates_and_the_count():
    # Prepare
    cfg = ClientDPConfig(mode="central", clipping="adaptive", noise_multiplier=1.0)
    # Execute
    sigma, count_std = noise_parameters(cfg, 100.0)
    # Assert: σ_Δ^-2 + (2σ_b)^-2 = σ^-2 (Andrew et al.), σ_b = n/20 by default
    assert count_std == pytest.approx(5.0)
    assert sigma**-2 + (2 * count_std) ** -2 == pytest.approx(1.0)


@pytest.mark.parametrize(("sigma", "rate", "rounds"), [(1.0, 0.1, 100), (0.7, 0.05, 20)])
def test_epsilon_matches_opacus_called_directly(sigma, rate, rounds):
    # Prepare
    accountant = RDPAccountant()
    for _ in range(rounds):
        accountant.step(noise_multiplier=sigma, sample_rate=rate)
    # Execute
    eps = client_level_epsilon(sigma, rate, rounds, 1e-5)
    # Assert
    assert eps == pytest.approx(accountant.get_epsilon(delta=1e-5), rel=1e-9)


def test_epsilon_edge_cases_and_summary():
    # Prepare
    cfg = ClientDPConfig(mode="central", noise_multiplier=1.0)
    # Execute
    summary = client_dp_summary(cfg, 10, expected_clients(0, 0.5, 200), 200)["client_dp"]
    # Assert
    assert client_level_epsilon(0.0, 0.1, 5, 1e-5) == math.inf
    assert client_level_epsilon(1.0, 0.1, 0, 1e-5) == 0.0
    assert summary["sample_rate"] == pytest.approx(0.5)
    assert summary["epsilon"] == pytest.approx(client_level_epsilon(1.0, 0.5, 10, 1e-5))
    assert client_dp_summary(ClientDPConfig(), 10, 1.0, 1) == {}
    local = client_dp_summary(ClientDPConfig(mode="local"), 10, 20.0, 200)["client_dp"]
    assert local["sample_rate"] == 1.0
