"""Every grid and search file in experiments/ loads, and every run it holds has a valid config."""

from pathlib import Path

import pytest

from fedrec.cli import resolve_config
from fedrec.compare import Grid
from fedrec.config import ConfigError
from fedrec.search import Search

ROOT = Path(__file__).resolve().parents[1]
GRIDS = sorted(
    path
    for folder in ("compare", "sparsity", "strategies")
    for path in (ROOT / "experiments" / folder).glob("*.yaml")
)
SEARCHES = sorted((ROOT / "experiments" / "tune").glob("*.yaml"))
#: Grids whose methods are the best configurations of a search, and that search.
TUNED = {"ml100k_tuned.yaml": "ml100k_strict.yaml"}


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.name)
def test_every_cell_of_a_grid_resolves(path, tmp_path, monkeypatch):
    # Prepare: a tuned grid reads a search's best configurations, relative to the current folder
    monkeypatch.chdir(tmp_path if path.name in TUNED else ROOT)
    if path.name in TUNED:
        with pytest.raises(ConfigError, match="override file not found: runs/tune/"):
            Grid.load(path)
        _fake_best(ROOT / "experiments" / "tune" / TUNED[path.name])
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
