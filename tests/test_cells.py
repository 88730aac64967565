"""A grid's stopped cells: resumed from a checkpoint of the grid's settings, else set aside."""

from fedrec.cells import resume_or_set_aside
from fedrec.cli import resolve_config
from fedrec.config import config_to_yaml
from fedrec.grid import Grid

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


def _todo(grid):
    return {CELL: resolve_config(None, grid.overrides(*CELL))}


def test_a_stopped_cell_with_a_checkpoint_of_the_grids_settings_resumes_in_place(tmp_path):
    # Prepare: checkpointed every 2 rounds; the grid does not say (bookkeeping only)
    grid = _grid(tmp_path)
    run = _stopped_cell(grid, ["checkpoint_every=2"])
    # Execute
    planned = resume_or_set_aside(grid, _todo(grid))
    # Assert
    assert planned[CELL].resume == str(run)
    assert (run / "metrics.jsonl").exists()
    assert list(tmp_path.glob("*.interrupted-*")) == []


def test_a_checkpoint_made_with_other_settings_is_set_aside(tmp_path):
    # Prepare: the cell ran with dim 8; the grid now gives it dim 4
    grid = _grid(tmp_path)
    _stopped_cell(grid, ["fedrap.dim=8"])
    # Execute
    planned = resume_or_set_aside(grid, _todo(grid))
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
    planned = resume_or_set_aside(grid, _todo(grid))
    # Assert
    assert planned[CELL].resume == ""
    assert len(list(tmp_path.glob("s--m--s0.interrupted-*"))) == 1


def test_cells_never_started_are_left_as_they_are(tmp_path):
    grid = _grid(tmp_path)
    todo = _todo(grid)
    assert resume_or_set_aside(grid, todo) == todo
    assert list(tmp_path.iterdir()) == []
