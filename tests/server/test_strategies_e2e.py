"""End to end: a robust strategy, sparse C and a poisoning attack through Flower on Ray."""

import json

import numpy as np
import pytest

from fedrec.cli import simulate
from fedrec.config import load_config
from fedrec.results import read_rounds
from tests.factories import tiny_synthetic


@pytest.mark.slow
def test_fedmedian_with_sparse_c_under_attack_runs_and_reports_bytes_density_exposure(tmp_path):
    # Prepare: 40 real users and 4 model-poisoning fake ones (10 %).
    cfg = load_config(
        overrides=[
            *tiny_synthetic(40, 80, "rounds=2"),
            f"output_dir={tmp_path}",
            "run_name=robust",
            "federation.strategy=fedmedian",
            "sparsity.target_density=0.2",
            "attack.kind=model_poisoning",
            "attack.fraction=0.1",
        ]
    )
    # Execute
    run = simulate(cfg)
    # Assert
    rounds, summary = read_rounds(run), json.loads((run / "summary.json").read_text())
    assert [r["clients"] for r in rounds] == [44, 44] and all(not r["rejected"] for r in rounds)
    assert all(r["density"] <= 0.2 for r in rounds)
    assert all(r["upload_bytes"] + r["download_bytes"] < r["dense_bytes"] for r in rounds)
    assert 0.0 <= summary["target_exposure10"] <= 1.0
    with np.load(run / "ranks" / "round-0002.npz") as ranks:
        assert ranks["users"].max() < 40  # fake users are not evaluated
