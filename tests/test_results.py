"""Run folders: an unfinished run is set aside whole, never appended to or deleted."""

import pytest

import fedrec.state.budget as budget
from fedrec.config import ConfigError
from fedrec.results import set_aside
from fedrec.state.budget import ram_store_path
from server.app import refuse_earlier_run


def test_an_unfinished_run_and_its_ram_store_are_moved_aside_together(tmp_path, monkeypatch):
    # Prepare
    monkeypatch.setattr(budget, "RAM_ROOT", tmp_path / "shm")
    run_dir = tmp_path / "grid" / "strict--fedrap--s0"
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.jsonl").write_text('{"round": 1}\n')
    store = ram_store_path(run_dir, run_dir.name)
    store.mkdir(parents=True)
    (store / "d.npy").write_text("state")
    # Execute
    moved = set_aside(run_dir)
    # Assert
    assert not run_dir.exists() and not store.exists()
    assert moved.name.startswith("strict--fedrap--s0.interrupted-")
    assert (moved / "metrics.jsonl").read_text() == '{"round": 1}\n'
    assert (moved / "client_state" / "d.npy").read_text() == "state"


@pytest.mark.parametrize("name", ["metrics.jsonl", "summary.json"])
def test_a_fresh_start_in_a_folder_with_an_earlier_run_is_refused(tmp_path, name):
    # Prepare
    (tmp_path / name).write_text("{}")
    # Execute / Assert
    with pytest.raises(ConfigError, match=f"already holds a run \\({name}\\).*resume="):
        refuse_earlier_run(tmp_path)


def test_a_fresh_start_in_a_new_or_empty_folder_is_allowed(tmp_path):
    refuse_earlier_run(tmp_path / "new")
    refuse_earlier_run(tmp_path)
