"""Figures of a comparison grid from hand-made run folders."""

import json

import numpy as np
import pytest

from fedrec.plots import validation_curve, write_plots
from tests.plot_checks import assert_png_with_content


def _run(tmp_path, name, curve, rounds=None):
    run = tmp_path / name
    run.mkdir()
    rounds = rounds or list(range(1, len(curve) + 1))
    lines = [
        json.dumps({"round": r, "loss": 0.1, "val_sampled_hr10": hr})
        for r, hr in zip(rounds, curve, strict=True)
    ]
    lines.insert(1, json.dumps({"round": 99, "loss": 0.1}))  # a round without evaluation
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return run


def test_validation_curve_is_mean_and_sample_std_on_rounds_every_seed_evaluated(tmp_path):
    # Prepare: seed 1 was not evaluated at round 3
    a = _run(tmp_path, "a", [0.1, 0.2, 0.3, 0.4])
    b = _run(tmp_path, "b", [0.3, 0.4, 0.6], rounds=[1, 2, 4])
    # Execute
    rounds, mean, std = validation_curve([a, b])
    # Assert
    np.testing.assert_array_equal(rounds, [1, 2, 4])
    np.testing.assert_allclose(mean, [0.2, 0.3, 0.5])
    np.testing.assert_allclose(std, [np.sqrt(0.02)] * 3)


def test_write_plots_draws_both_figures_per_setting(tmp_path):
    # Prepare: two seeds of a federated method, a one-round baseline and one that sends no bytes
    rows = []
    for seed in (0, 1):
        curve = list(np.linspace(0.1, 0.5, 10) + 0.05 * seed)
        for setting in ("legacy", "strict"):
            run = _run(tmp_path, f"{setting}-fed-{seed}", curve)
            rows.append(_row(setting, "fed", run, 0.5 + 0.05 * seed, 2e5 + seed * 1e4))
            run = _run(tmp_path, f"{setting}-pop-{seed}", [0.4])
            rows.append(_row(setting, "mostpop", run, 0.4, 4e3))
            run = _run(tmp_path, f"{setting}-rnd-{seed}", [0.1])
            rows.append(_row(setting, "random", run, 0.1, 0.0))
    # Execute
    paths = write_plots(tmp_path, ["legacy", "strict"], ["fed", "mostpop", "random"], rows)
    # Assert
    assert [p.name for p in paths] == [
        "hr10_rounds--legacy.png",
        "hr10_bytes--legacy.png",
        "hr10_rounds--strict.png",
        "hr10_bytes--strict.png",
    ]
    for path in paths:
        assert_png_with_content(path)


def _row(setting, method, run, hr, sent):
    return {
        "setting": setting,
        "method": method,
        "run": str(run),
        "test_hr10": hr,
        "bytes_per_round": sent,
    }


def test_png_check_refuses_a_blank_image(tmp_path):
    from matplotlib.figure import Figure

    path = tmp_path / "blank.png"
    Figure(figsize=(8, 5)).savefig(path, format="png")
    with pytest.raises(AssertionError):
        assert_png_with_content(path)
