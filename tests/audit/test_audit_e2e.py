"""End to end: central client-level DP, a recorded round and `fedrec audit` through Flower."""

import json

import pytest

from fedrec.cli import main, simulate
from fedrec.config import load_config
from fedrec.privacy.client_level import client_level_epsilon
from fedrec.results import read_rounds
from tests.factories import tiny_synthetic


@pytest.mark.slow
def test_central_dp_run_reports_epsilon_and_its_recorded_round_is_audited(tmp_path, capsys):
    # Prepare: sparse C keeps the download sparse after the dense noise (post-processing)
    cfg = load_config(
        overrides=[
            *tiny_synthetic(30, 60, "rounds=2"),
            f"output_dir={tmp_path}",
            "run_name=dp",
            "client_dp.mode=central",
            "client_dp.clipping=adaptive",
            "client_dp.noise_multiplier=0.5",
            "sparsity.target_density=0.2",
            "leakage.record_round=2",
        ]
    )
    # Execute
    run = simulate(cfg)
    code = main(["audit", str(run)])
    # Assert
    rounds, summary = read_rounds(run), json.loads((run / "summary.json").read_text())
    dp = summary["client_dp"]
    assert dp["epsilon"] == pytest.approx(client_level_epsilon(0.5, 1.0, 2, 1e-5))
    assert all(r["dp_noise_std"] > 0 and r["density"] <= 0.2 for r in rounds)
    assert rounds[1]["download_bytes"] < rounds[1]["dense_bytes"] / 2
    assert code == 0
    audit = json.loads((run / "audit.json").read_text())
    assert audit["rounds"][0]["users"] == 30
    assert 0.0 <= audit["rounds"][0]["membership_auc"] <= 1.0
    assert "membership_auc" in capsys.readouterr().out
