"""A grid's stopped cells: resumed from a checkpoint of the grid's settings, else set aside;
cells another process runs are left alone; and where every cell stands."""

import json
import os

from fedrec.cells import CellStatus, cell_statuses, plan_runs, status_report, time_left
from fedrec.cli import resolve_config
from fedrec.config import config_to_yaml
from fedrec.grid import Grid
from fedrec.run_lock import hold_run_folder

CELL = ("s", "m", 0)


def _grid(tmp_path, method=("fedrap.dim=4",)):
    return Grid("g", tmp_path, ["dataset=synthetic"], [0], {"s": []}, {"m": list(method)})


def _stopped_cell(grid, saved_with=(), checkpoint="checkpoint"):
    """A cell's folder as a run stopped after a checkpoint leaves it."""
    run = grid.run_dir(*CELL)
    (run / checkpoint).mkdir(parents=True)
    (run / checkpoint / "state.json").write_text('{"round": 2, "strategy": {}}')
    (run / "metrics.jsonl").write_text('{"round": 1}\n{"round": 2}\n{"round": 3}\n')
    cfg = resolve_config(None, [*grid.overrides(*CELL), *saved_with])
    (run / "config.yaml").write_text(config_to_yaml(cfg))
    return run


def _configs(grid, cells=None):
    return {cell: resolve_config(None, grid.overrides(*cell)) for cell in cells or grid.cells()}


def _plan(grid):
    """What ``fedrec compare`` runs of the grid, as it decides it."""
    configs = _configs(grid)
    return plan_runs(grid, cell_statuses(grid, configs), configs)


def test_a_stopped_cell_with_a_checkpoint_of_the_grids_settings_resumes_in_place(tmp_path):
    # Prepare: checkpointed every 2 rounds; the grid does not say (bookkeeping only)
    grid = _grid(tmp_path)
    run = _stopped_cell(grid, ["checkpoint_every=2"])
    # Execute
    planned = _plan(grid)
    # Assert
    assert planned[CELL].resume == str(run)
    assert (run / "metrics.jsonl").exists()
    assert list(tmp_path.glob("*.interrupted-*")) == []


def test_a_checkpoint_made_with_other_settings_is_set_aside(tmp_path):
    # Prepare: the cell ran with dim 8; the grid now gives it dim 4
    grid = _grid(tmp_path)
    _stopped_cell(grid, ["fedrap.dim=8"])
    # Execute
    planned = _plan(grid)
    # Assert: it starts afresh; its rounds and checkpoint are kept aside
    assert planned[CELL].resume == ""
    assert not grid.run_dir(*CELL).exists()
    (aside,) = tmp_path.glob("s--m--s0.interrupted-*")
    assert (aside / "checkpoint" / "state.json").exists()


def test_a_checkpoint_cut_off_while_written_is_not_resumed(tmp_path):
    # Prepare: only the staging folder of a first checkpoint exists
    grid = _grid(tmp_path)
    _stopped_cell(grid, checkpoint="checkpoint.tmp")
    # Execute
    planned = _plan(grid)
    # Assert
    assert planned[CELL].resume == ""
    assert len(list(tmp_path.glob("s--m--s0.interrupted-*"))) == 1


def test_cells_never_started_are_left_as_they_are(tmp_path):
    grid = _grid(tmp_path)
    assert _plan(grid) == _configs(grid)
    assert list(tmp_path.iterdir()) == []


def test_a_cell_another_process_runs_is_neither_resumed_nor_set_aside(tmp_path):
    # Prepare: the stopped cell is being resumed right now by someone else
    grid = _grid(tmp_path)
    run = _stopped_cell(grid)
    with hold_run_folder(run):
        # Execute
        todo = _plan(grid)
    # Assert
    assert todo == {}
    assert (run / "checkpoint" / "state.json").exists()
    assert list(tmp_path.glob("*.interrupted-*")) == []


def _finished(grid, cell, extra=(), resumed_from=None):
    run = grid.run_dir(*cell)
    run.mkdir(parents=True)
    (run / "metrics.jsonl").write_text('{"round": 1}\n{"round": 2}\n')
    summary = {"wall_seconds": 90.0, "resumed_from_round": resumed_from}
    (run / "summary.json").write_text(json.dumps(summary))
    cfg = resolve_config(None, [*grid.overrides(*cell), *extra])
    (run / "config.yaml").write_text(config_to_yaml(cfg))


def test_the_status_says_where_every_cell_stands_and_touches_nothing(tmp_path):
    # Prepare: six cells, one per state
    grid = Grid("g", tmp_path, ["dataset=synthetic"], [0, 1, 2, 3, 4, 5], {"s": []}, {"m": []})
    cells = grid.cells()
    _finished(grid, cells[0], resumed_from=20)
    _finished(grid, cells[1], extra=["fedrap.dim=8"])
    resumes = grid.run_dir(*cells[3])
    (resumes / "checkpoint").mkdir(parents=True)
    (resumes / "checkpoint" / "state.json").write_text('{"round": 2, "strategy": {}}')
    (resumes / "metrics.jsonl").write_text('{"round": 1}\n{"round": 2}\n{"round": 3}\n')
    (resumes / "config.yaml").write_text(
        config_to_yaml(resolve_config(None, grid.overrides(*cells[3])))
    )
    grid.run_dir(*cells[4]).mkdir()
    (grid.run_dir(*cells[4]) / "metrics.jsonl").write_text('{"round": 1}\n')
    # Execute
    with hold_run_folder(grid.run_dir(*cells[2])):
        before = sorted(str(p) for p in tmp_path.rglob("*"))
        by_cell = cell_statuses(grid, _configs(grid))
    report = status_report(grid, by_cell)
    statuses = list(by_cell.values())
    # Assert
    assert [s.state for s in statuses] == [
        "finished",
        "stale",
        "running",
        "resumes",
        "reruns",
        "to run",
    ]
    assert statuses[0].minutes == 1.5 and statuses[0].resumed_from == 20
    assert statuses[2].pid == os.getpid()
    assert (statuses[3].rounds, statuses[3].checkpoint) == (3, 2)
    assert "6 cells: 1 finished, 1 stale, 1 running, 1 resumes, 1 reruns, 1 to run" in report
    assert "2 rounds, 1.5 min (after resuming from round 20)" in report
    assert "continues after its round-2 checkpoint" in report
    assert "in process" in report and "no usable checkpoint" in report
    assert "other settings for ['fedrap.dim']" in report
    assert "finished cells' wall time: 0.0 h" in report  # 1.5 min; the stale cell not counted
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_time_left_counts_each_unfinished_cell_as_its_methods_median_whole_cell():
    # Prepare: method a finished twice (30, 90 min); b only after a resume, which says too little
    statuses = {
        ("s", "a", 0): CellStatus("a0", "finished", 100, minutes=30.0),
        ("s", "a", 1): CellStatus("a1", "finished", 100, minutes=90.0),
        ("s", "a", 2): CellStatus("a2", "to run"),
        ("s", "a", 3): CellStatus("a3", "resumes", 30, checkpoint=20),
        ("s", "a", 4): CellStatus("a4", "running", 5, pid=1),
        ("s", "b", 0): CellStatus("b0", "finished", 100, minutes=5.0, resumed_from=20),
        ("s", "b", 1): CellStatus("b1", "reruns", 3),
    }
    # Execute
    text = time_left(statuses)
    # Assert: a2 and a3 at 60 min each; b1 has nothing to go by; the running a4 is not counted
    assert text.startswith("left to run: 3 cells, about 2.0 h for the 2 ")
    assert text.endswith("; 1 with none to go by")
    # Execute / Assert: a selection of unrun cells goes by the finished cells outside it
    assert time_left(statuses, [("s", "a", 2)]).startswith("left to run: 1 cells, about 1.0 h ")
