"""The client-level DP wrapper around aggregation rules: calibration, composition, refusals."""

import dataclasses

import numpy as np
import pytest

from fedrec import wire
from fedrec.aggregation.updates import UserUpdates
from fedrec.config import ConfigError, load_config
from fedrec.config.client_dp import ClientDPConfig
from strategies import create_strategy
from strategies.dp import ClientLevelDP, with_client_dp
from strategies.fedadam import fedadam
from strategies.fedavg import FedAvgRule
from strategies.per_item_mean import PerItemMeanRule
from strategies.rules import RoundInputs
from strategies.trimmed_mean import TrimmedMeanRule
from tests.privacy.test_client_level import random_updates

NAME = "item-global"


def _inputs(updates: UserUpdates) -> RoundInputs:
    return RoundInputs(mean={}, users={NAME: updates})


def test_central_noise_std_matches_sigma_s_over_the_fixed_denominator():
    # Prepare: 8 users whose C_u = G (no update), so the result is G + noise / n
    n_users, expected = 8, 20.0
    zero = UserUpdates(
        np.zeros(n_users + 1, np.int64),
        np.zeros(0, np.int64),
        np.zeros((0, 50), np.float32),
        np.ones(n_users),
        np.ones(n_users),
    )
    cfg = ClientDPConfig(mode="central", noise_multiplier=1.3, clip_norm=2.0)
    dp = ClientLevelDP(FedAvgRule(), cfg, expected, seed=0)
    g = np.zeros((400, 50), np.float32)
    # Execute
    out = dp.aggregate(NAME, g, _inputs(zero))
    # Assert
    assert out.std() == pytest.approx(1.3 * 2.0 / expected, rel=0.02)
    assert abs(out.mean()) < 3 * 1.3 * 2.0 / expected / np.sqrt(out.size)
    assert dp.round_metrics()["dp_noise_std"] == pytest.approx(1.3 * 2.0 / expected)


def test_central_without_noise_and_a_loose_bound_is_fedavg_over_the_fixed_denominator():
    # Prepare
    updates = random_updates(5, 6, 30, 4)
    g = np.random.default_rng(1).normal(size=(30, 4)).astype(np.float32)
    cfg = ClientDPConfig(mode="central", noise_multiplier=0.0, clip_norm=1e9)
    dp = ClientLevelDP(FedAvgRule(), cfg, expected=6.0, seed=0)
    # Execute
    out = dp.aggregate(NAME, g, _inputs(updates))
    # Assert: with n equal to the users, the plain mean of the C_u
    np.testing.assert_allclose(out, updates.dense(g).mean(axis=0), rtol=1e-4, atol=1e-4)


def test_central_composes_with_a_server_optimiser():
    # Prepare
    rule = fedadam(load_config())
    dp = ClientLevelDP(rule, ClientDPConfig(mode="central", clip_norm=1.0), 4.0, seed=0)
    updates = random_updates(7, 4, 20, 3)
    g = np.zeros((20, 3), np.float32)
    # Execute
    out = dp.aggregate(NAME, g, _inputs(updates))
    # Assert: Adam's first step moves every entry by about its learning rate
    assert out.shape == g.shape and np.isfinite(out).all()
    assert np.abs(out).max() <= 0.011
    assert "first" in str(dp.state()["inner"]) or dp.state()["inner"]


@pytest.mark.parametrize("rule", [TrimmedMeanRule(0.1), PerItemMeanRule()])
def test_central_refuses_rules_without_a_fixed_denominator(rule):
    # Prepare
    cfg = ClientDPConfig(mode="central")
    # Execute / Assert
    with pytest.raises(ValueError, match="fixed denominator"):
        ClientLevelDP(rule, cfg, 10.0, seed=0)


def test_local_mode_composes_with_trimmed_mean_and_sends_clients_their_noise():
    # Prepare
    cfg = ClientDPConfig(mode="local", noise_multiplier=0.5, clip_norm=3.0)
    dp = ClientLevelDP(TrimmedMeanRule(0.1), cfg, 10.0, seed=0)
    updates = random_updates(9, 10, 12, 3)
    g = np.zeros((12, 3), np.float32)
    # Execute
    out = dp.aggregate(NAME, g, _inputs(updates))
    sent = dp.client_config()
    # Assert: the server aggregates as the rule does; the clients noise their own update
    np.testing.assert_allclose(out, TrimmedMeanRule(0.1).aggregate(NAME, g, _inputs(updates)))
    assert dp.needs_users
    assert sent == {wire.DP_CLIP_NORM: 3.0, wire.DP_NOISE_STD: 1.5}


def test_local_adaptive_and_weighted_aggregation_are_refused():
    # Prepare
    local_adaptive = ClientDPConfig(mode="local", clipping="adaptive")
    weighted = load_config(overrides=["client_dp.mode=central", "federation.aggregation=weighted"])
    # Execute / Assert
    with pytest.raises(ValueError, match="adaptive"):
        ClientLevelDP(FedAvgRule(), local_adaptive, 10.0, seed=0)
    with pytest.raises(ValueError, match="aggregation=mean"):
        with_client_dp(FedAvgRule(), weighted, 100)


def test_create_strategy_wraps_the_configured_rule_with_the_expected_clients():
    # Prepare
    cfg = load_config(overrides=["client_dp.mode=central", "federation.participation=0.25"])
    off = load_config()
    # Execute
    strategy = create_strategy(cfg, n_real_users=100, population=120)
    plain = create_strategy(off, n_real_users=100)
    # Assert
    assert isinstance(strategy.rule, ClientLevelDP)
    assert strategy.rule.expected == pytest.approx(30.0)
    assert not isinstance(plain.rule, ClientLevelDP)
    with pytest.raises(ValueError, match="fixed denominator"):
        create_strategy(
            dataclasses.replace(
                cfg, federation=dataclasses.replace(cfg.federation, strategy="per_item_mean")
            ),
            100,
        )


def test_adaptive_bound_survives_a_checkpoint():
    # Prepare
    cfg = ClientDPConfig(mode="central", clipping="adaptive", noise_multiplier=0.1)
    dp = ClientLevelDP(FedAvgRule(), cfg, 10.0, seed=0)
    dp.aggregate(NAME, np.zeros((12, 3), np.float32), _inputs(random_updates(2, 10, 12, 3)))
    fresh = ClientLevelDP(FedAvgRule(), cfg, 10.0, seed=0)
    # Execute
    fresh.load_state(dp.state(), {NAME: (12, 3)})
    # Assert
    assert fresh.bound.bound == dp.bound.bound != cfg.clip_norm


@pytest.mark.parametrize(
    "override", ["client_dp.clip_norm=0", "client_dp.delta=1", "leakage.fixed_rows=0"]
)
def test_out_of_range_settings_are_config_errors(override):
    with pytest.raises(ConfigError, match=override.split("=")[0]):
        load_config(overrides=[override])
