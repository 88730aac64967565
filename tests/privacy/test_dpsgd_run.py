"""End to end: ``fedrec run`` with DP-SGD trains, and its summary reports ε per user."""

import json

import numpy as np
import pytest

from fedrec.cli import simulate
from fedrec.config import load_config
from fedrec.privacy.accounting import epsilon
from fedrec.privacy.ledger import read_ledgers
from fedrec.results import read_rounds
from tests.factories import tiny_synthetic


@pytest.mark.slow
def test_dpsgd_run_completes_and_writes_epsilon_into_the_summary(tmp_path):
    # Prepare: 2 rounds of 2 epochs, batches small enough that users have several.
    cfg = load_config(
        overrides=[
            *tiny_synthetic(30, 60, "rounds=2"),
            f"output_dir={tmp_path}",
            "run_name=dp",
            "keep_client_state=true",  # the ledgers are read back below
            "fedrap.batch_size=32",
            "dpsgd.enabled=true",
            "dpsgd.noise_multiplier=1.0",
            "dpsgd.max_grad_norm=0.5",
        ]
    )
    # Execute
    run = simulate(cfg)
    # Assert: every user accounted, ε as Opacus computes it for its own steps and rate.
    summary = json.loads((run / "summary.json").read_text())
    entry = summary["dpsgd"]
    ledger = read_ledgers(run / "client_state")
    assert entry["users_accounted"] == 30 == int((ledger["steps"] > 0).sum())
    eps = [
        epsilon("rdp", 1.0, float(row["sample_rate"]), int(row["steps"]), 1e-5) for row in ledger
    ]
    assert entry["epsilon_max"] == pytest.approx(max(eps))
    assert entry["epsilon_median"] == pytest.approx(float(np.median(eps)))
    assert np.isfinite(entry["epsilon_max"]) and entry["epsilon_max"] > 0
    # Two rounds of two epochs of ⌈n / 32⌉ steps each.
    assert (ledger["steps"] == 4 / ledger["sample_rate"]).all()
    assert all(np.isfinite(r["loss"]) for r in read_rounds(run))
    assert summary["test_hr10"] is not None
