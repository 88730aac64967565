"""Every grid and search file in experiments/ loads, and every run it holds has a valid config."""

import importlib.util
import json
from pathlib import Path

import pytest

from fedrec.cli import resolve_config
from fedrec.config import ConfigError
from fedrec.grid import Grid
from fedrec.search import Search

ROOT = Path(__file__).resolve().parents[1]
GRIDS = sorted(
    path
    for folder in ("compare", "sparsity", "strategies", "privacy")
    for path in (ROOT / "experiments" / folder).glob("*.yaml")
)
SEARCHES = sorted((ROOT / "experiments" / "tune").glob("*.yaml"))
#: Grids whose methods are the best configurations of searches, and those searches.
TUNED = {
    "ml100k_tuned.yaml": (
        "ml100k_strict.yaml",
        "ml100k_strict_wide.yaml",
        "ml100k_strict_centralised.yaml",
        "ml100k_strict_wide_fedncf.yaml",
    )
}


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.name)
def test_every_cell_of_a_grid_resolves(path, tmp_path, monkeypatch):
    # Prepare: a tuned grid reads a search's best configurations, relative to the current folder
    monkeypatch.chdir(tmp_path if path.name in TUNED else ROOT)
    if path.name in TUNED:
        with pytest.raises(ConfigError, match="override file not found: runs/tune/"):
            Grid.load(path)
        for search in TUNED[path.name]:
            _fake_best(ROOT / "experiments" / "tune" / search)
    # Execute
    grid = Grid.load(path)
    # Assert
    configs = [resolve_config(None, grid.overrides(*cell)) for cell in grid.cells()]
    assert len(configs) == len(grid.settings) * len(grid.methods) * len(grid.seeds)


def _fake_best(search_path):
    search = Search.load(search_path)
    for algorithm, overrides in search.algorithms.items():
        path = search.output_dir / "best" / f"{algorithm}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(o.replace("=", ": ", 1) for o in overrides) + "\n")


@pytest.mark.parametrize("path", SEARCHES, ids=lambda p: p.name)
def test_search_files_load_with_every_value_a_trial_could_draw(path):
    search = Search.load(path)  # resolves configs at both ends and the middle of every range
    assert search.num_samples >= 1 and len(search.algorithms) >= 1


def _privacy_tables():
    spec = importlib.util.spec_from_file_location(
        "privacy_tables", ROOT / "experiments" / "privacy" / "tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(folder, name, payload):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(payload), encoding="utf-8")


def test_privacy_tables_compare_each_private_cell_with_its_own_non_private_one(tmp_path, capsys):
    # Prepare: two configurations, each with and without DP, and a leakage grid.
    grid = tmp_path / "runs" / "client-dp-100-ml100k"
    base = {"rounds": 100, "best_round": 50}
    dp = {"noise_multiplier": 7.0, "sample_rate": 1.0, "delta": 1e-5, "epsilon": 7.16}
    for cell, hr, private in (
        ("non-private", 0.20, False),
        ("non-private-slow", 0.25, False),
        ("sigma-7", 0.20, True),
        ("sigma-7-slow", 0.20, True),
    ):
        summary = {**base, "test_hr10": hr, **({"client_dp": dp} if private else {})}
        _write(grid / f"ml100k--{cell}--s0", "summary.json", summary)
    leak = tmp_path / "runs" / "leakage-ml100k"
    for cell, up, auc in (("touched", 100.0, 0.99), ("dense", 250.0, 0.5)):
        rounds = [
            {
                "upload_bytes_per_user_mean": up,
                "rows_per_upload_mean": up,
                "membership_auc": auc,
                "precision10": auc,
            }
        ]
        _write(leak / f"ml100k--{cell}--s0", "audit.json", {"rounds": rounds, "test_hr10": 0.2})
    # Execute
    _privacy_tables().main(tmp_path / "runs", tmp_path / "figures")
    # Assert: 0.2 against its own 0.2 and 0.25; ε over 100 rounds comes from Opacus.
    lines = capsys.readouterr().out.splitlines()
    out = "\n".join(lines)
    plain = next(line for line in lines if "`sigma-7`" in line)
    slow = next(line for line in lines if "`sigma-7-slow`" in line)
    assert "| 100% |" in plain and "| 7.16 | 7.16 |" in plain
    assert "| 80% |" in slow
    assert "| 2.50× | 0.500 |" in out
    assert (tmp_path / "figures" / "hr_vs_epsilon.png").stat().st_size > 0
    assert (tmp_path / "figures" / "leakage_auc.png").stat().st_size > 0


def test_compare_tables_print_seeds_rounds_and_summed_wall_time(tmp_path, capsys):
    # Prepare: a grid of one method with two finished seeds and one missing
    grid = tmp_path / "g.yaml"
    grid.write_text(
        f"name: g\noutput_dir: {tmp_path}\nseeds: [0, 1, 2]\nsettings: {{s: []}}\n"
        "methods: {m: [algorithm=fedrap]}\n"
    )
    for seed, hr in ((0, 0.4), (1, 0.6)):
        summary = {
            "test_hr10": hr,
            "test_ndcg10": 0.2,
            "test_full_hr10": 0.1,
            "rounds": 50 + seed,
            "best_round": 30,
            "wall_seconds": 60.0 * (seed + 1),
        }
        _write(tmp_path / "g" / f"s--m--s{seed}", "summary.json", summary)
    spec = importlib.util.spec_from_file_location(
        "compare_tables", ROOT / "experiments" / "compare" / "tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # Execute
    module.main(grid)
    # Assert
    out = capsys.readouterr().out
    assert "summed wall time 3.0 min" in out
    assert (
        "| `m` | 2 | 0.5000 ± 0.1414 (0.4000, 0.6000) | 0.2000 ± 0.0000 | 0.1000 ± 0.0000 "
        "| 50 (30), 51 (30) | 1.0, 2.0 |" in out
    )
    assert "mostpop" not in out  # no finished cell, no line
