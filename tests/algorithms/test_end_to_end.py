"""The new algorithms through the real ServerApp and ClientApp (Flower simulation, Ray)."""

import json
import math

import pytest

from fedrec.cli import simulate
from fedrec.config import load_config
from fedrec.results import read_rounds
from tests.factories import tiny_synthetic


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        ["algorithm=fedrap", "model.name=neumf", "model.mlp_layers=[8]"],  # two global arrays
        ["algorithm=centralised", "model.name=mf"],  # one node trains, the other sends nothing
    ],
    ids=["fedrap-neumf", "centralised"],
)
def test_two_rounds_on_two_nodes(overrides, tmp_path):
    # Prepare
    cfg = load_config(
        overrides=[
            *tiny_synthetic(30, 60, "rounds=2", "federation.num_nodes=2"),
            *overrides,
            f"output_dir={tmp_path}",
            "run_name=run",
        ]
    )
    # Execute
    run = simulate(cfg)
    # Assert
    summary = json.loads((run / "summary.json").read_text())
    rounds = read_rounds(run)
    assert [r["round"] for r in rounds] == [1, 2]
    assert all(math.isfinite(r["loss"]) and r["rejected"] == [] for r in rounds)
    assert 0.0 <= summary["test_hr10"] <= 1.0 and summary["algorithm"] == cfg.algorithm
