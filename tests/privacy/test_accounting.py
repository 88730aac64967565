"""ε from the ledger equals Opacus' accountants called directly, step by step."""

import json

import numpy as np
import pytest
from opacus.accountants import PRVAccountant, RDPAccountant

from fedrec.config.dpsgd import DPSGDConfig
from fedrec.privacy.accounting import epsilon, record_level_summary, user_epsilons
from fedrec.privacy.ledger import LEDGER_DTYPE, PrivacyLedger, read_ledgers

DELTA = 1e-5


def _stepped(accountant, noise, rate, steps):
    for _ in range(steps):
        accountant.step(noise_multiplier=noise, sample_rate=rate)
    return accountant.get_epsilon(delta=DELTA)


@pytest.mark.parametrize(
    ("noise", "rate", "steps"), [(1.0, 1.0, 50), (0.5, 0.5, 20), (2.0, 0.01, 300)]
)
def test_rdp_epsilon_equals_opacus_stepped_directly(noise, rate, steps):
    # Execute
    ours = epsilon("rdp", noise, rate, steps, DELTA)
    direct = _stepped(RDPAccountant(), noise, rate, steps)
    # Assert
    assert ours == pytest.approx(direct, rel=1e-12)


@pytest.mark.parametrize(("noise", "rate", "steps"), [(1.0, 0.5, 40), (2.0, 0.05, 200)])
def test_prv_epsilon_equals_opacus_stepped_directly(noise, rate, steps):
    ours = epsilon("prv", noise, rate, steps, DELTA)
    direct = _stepped(PRVAccountant(), noise, rate, steps)
    assert ours == pytest.approx(direct, rel=1e-9)


def test_no_steps_spend_nothing_and_no_noise_protects_nothing():
    assert epsilon("rdp", 1.0, 0.5, 0, DELTA) == 0.0
    assert epsilon("rdp", 0.0, 0.5, 10, DELTA) == float("inf")


def test_user_epsilons_are_per_entry_and_grow_with_steps():
    # Prepare
    ledger = np.zeros(4, dtype=LEDGER_DTYPE)
    ledger["steps"] = [10, 20, 10, 40]
    ledger["sample_rate"] = [0.5, 0.5, 0.5, 1.0]
    ledger["noise"] = 1.0
    # Execute
    eps = user_epsilons(ledger, DPSGDConfig(enabled=True))
    # Assert
    assert eps[0] == eps[2] == pytest.approx(_stepped(RDPAccountant(), 1.0, 0.5, 10))
    assert eps[0] < eps[1] < eps[3]


def test_ledger_adds_rounds_and_refuses_a_changed_rate(tmp_path):
    # Prepare
    users = np.arange(5, 9)
    ledger = PrivacyLedger(tmp_path / "node-0000-of-0001", users)
    # Execute: two rounds of users 5 and 7, reopened in between as a new process would.
    ledger.record(np.array([5, 7]), np.array([10, 20]), np.array([0.5, 1.0]), 1.0)
    PrivacyLedger(tmp_path / "node-0000-of-0001", users).record(
        np.array([5, 7]), np.array([10, 20]), np.array([0.5, 1.0]), 1.0
    )
    table = read_ledgers(tmp_path)
    # Assert
    assert table["steps"].tolist() == [20, 0, 40, 0]
    with pytest.raises(ValueError, match="sampling rate or noise changed"):
        ledger.record(np.array([5]), np.array([10]), np.array([0.25]), 1.0)
    with pytest.raises(ValueError, match="other users"):
        PrivacyLedger(tmp_path / "node-0000-of-0001", np.arange(3))


def test_summary_reports_max_and_median_over_trained_users(tmp_path):
    # Prepare: two nodes, one user never trained.
    PrivacyLedger(tmp_path / "node-0", np.arange(2)).record(
        np.arange(2), np.array([10, 30]), np.array([0.5, 0.5]), 1.0
    )
    PrivacyLedger(tmp_path / "node-1", np.arange(2, 4)).record(
        np.array([2]), np.array([20]), np.array([0.5]), 1.0
    )
    cfg = DPSGDConfig(enabled=True, accountant="rdp")
    # Execute
    entry = record_level_summary(cfg, tmp_path)["dpsgd"]
    # Assert
    direct = [_stepped(RDPAccountant(), 1.0, 0.5, t) for t in (10, 20, 30)]
    assert entry["users_accounted"] == 3
    assert entry["epsilon_max"] == pytest.approx(direct[2])
    assert entry["epsilon_median"] == pytest.approx(direct[1])
    assert json.loads(json.dumps(entry)) == entry
    assert record_level_summary(DPSGDConfig(enabled=False), tmp_path) == {}
