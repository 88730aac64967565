"""The ServerApp: how often it looks for replies, and which run folders it refuses."""

from types import SimpleNamespace

import pytest
from flwr.superlink.grid.inmemory_grid import InMemoryGrid

from fedrec.cli import simulate
from fedrec.config import ConfigError, load_config
from fedrec.run_lock import hold_run_folder
from server.app import REPLY_POLL_SECONDS, poll_replies_often, run_experiment


def test_the_simulation_grid_is_polled_more_often_than_flowers_default():
    # Prepare
    grid = InMemoryGrid(state_factory=SimpleNamespace(state=lambda: None))  # type: ignore[arg-type]
    default = grid.pull_interval
    # Execute
    poll_replies_often(grid)
    # Assert
    assert default == 0.1 and grid.pull_interval == REPLY_POLL_SECONDS


def test_a_shorter_interval_and_grids_without_one_are_left_alone():
    # Prepare
    fast, other = SimpleNamespace(pull_interval=0.001), SimpleNamespace()
    # Execute
    poll_replies_often(fast)  # type: ignore[arg-type]
    poll_replies_often(other)  # type: ignore[arg-type]
    # Assert
    assert fast.pull_interval == 0.001 and not hasattr(other, "pull_interval")


def test_a_run_refuses_a_folder_another_process_runs_in_before_touching_it(tmp_path):
    # Prepare: the folder is held, as by a run going on there (a `flwr run` ServerApp too)
    cfg = load_config(overrides=["dataset=synthetic", f"output_dir={tmp_path}", "run_name=busy"])
    with hold_run_folder(tmp_path / "busy"):
        # Execute / Assert: refused in the simulation's entry (before Ray starts) and the server's
        for start in (simulate, lambda c: run_experiment(SimpleNamespace(), c)):
            with pytest.raises(ConfigError, match="in use by another process"):
                start(cfg)
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["run.lock"]
