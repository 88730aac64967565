"""Run folders (an unfinished run is set aside whole, never appended to or deleted; ranks in user
order) and the selection of a run's reported round."""

import numpy as np
import pytest

import fedrec.state.budget as budget
from fedrec.config import ConfigError, load_config
from fedrec.results import (
    RunFolder,
    first_selectable_round,
    rank_intervals,
    selectable,
    set_aside,
    summarise,
)
from fedrec.state.budget import ram_store_path
from fedrec.wire import RANK_KEYS
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


def _scored(*scores):
    """One evaluated record per round, its density falling to 0.1 at round 3 (a 3-round ramp)."""
    return [
        {"round": r + 1, "round_seconds": 1.0, "clients": 1, "upload_bytes": 1, "download_bytes": 1}
        | {"density": max(0.1, 1.0 - 0.45 * r), "val_sampled_hr10": s, "test_sampled_hr10": s}
        for r, s in enumerate(scores)
    ]


def test_a_ramped_sparse_run_selects_only_rounds_at_its_target_density():
    # Prepare: round 1 (dense C) scores best on validation
    cfg = load_config(
        overrides=["rounds=5", "sparsity.target_density=0.1", "sparsity.ramp_rounds=3"]
    )
    rounds = _scored(0.9, 0.5, 0.6, 0.7, 0.65)
    # Execute
    summary = summarise(cfg, rounds, {})
    # Assert
    assert first_selectable_round(cfg) == 3
    assert [r["round"] for r in selectable(cfg, rounds)] == [3, 4, 5]
    assert summary["best_round"] == 4 and summary["density_selected"] == 0.1
    assert "from round 3 on" in summary["protocol_details"]["selection"]


def test_runs_without_a_ramp_select_from_round_one():
    dense = load_config(overrides=["rounds=5", "sparsity.ramp_rounds=3"])  # no target: no ramp
    sparse = load_config(overrides=["rounds=5", "sparsity.target_density=0.1"])
    assert first_selectable_round(dense) == first_selectable_round(sparse) == 1
    assert summarise(dense, _scored(0.9, 0.5), {})["best_round"] == 1


def test_ranks_are_saved_in_user_order_so_their_intervals_do_not_depend_on_reply_order(tmp_path):
    # Prepare: the same round, pooled from two nodes that replied in either order
    rng = np.random.default_rng(0)
    users = np.arange(200)
    ranks = {"users": users, **{k: rng.integers(1, 101, 200) for k in RANK_KEYS}}
    swapped = {k: np.concatenate([v[100:], v[:100]]) for k, v in ranks.items()}
    # Execute
    for name, pooled in (("a", ranks), ("b", swapped)):
        RunFolder(tmp_path / name).save_ranks(1, pooled)
    # Assert
    with np.load(tmp_path / "b" / "ranks" / "round-0001.npz") as saved:
        assert np.array_equal(saved["users"], users)
        assert np.array_equal(saved["test_sampled"], ranks["test_sampled"])
    assert rank_intervals(tmp_path / "a", 1, 10) == rank_intervals(tmp_path / "b", 1, 10)
