"""A run killed after a checkpoint, then resumed, ends exactly like an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fedrec.cli import resolve_config, simulate
from fedrec.results import RunFolder, has_checkpoint, read_rounds
from server.checkpoint import Checkpoint, discard_checkpoint, restore_checkpoint, write_checkpoint
from tests.factories import tiny_synthetic

TINY = tiny_synthetic(40, 80, "rounds=4", "checkpoint_every=2", "federation.participation=0.8")


def _kill_after_round(run_dir: Path, overrides: list[str], server_round: int) -> None:
    """Start `fedrec run` in its own process group and SIGKILL it once a round is recorded."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fedrec.cli", "run", *overrides],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    metrics = run_dir / "metrics.jsonl"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if metrics.exists() and len(metrics.read_text().splitlines()) >= server_round:
                break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert len(metrics.read_text().splitlines()) >= server_round, "the run did not get that far"


@pytest.mark.slow
def test_resume_after_a_kill_reaches_the_uninterrupted_result(tmp_path):
    # Prepare: an uninterrupted run, and a run killed after round 3 (checkpoint at round 2).
    whole = simulate(resolve_config(None, [*TINY, f"output_dir={tmp_path}", "run_name=whole"]))
    killed = tmp_path / "killed"
    _kill_after_round(killed, [*TINY, f"output_dir={tmp_path}", "run_name=killed"], 3)
    assert (killed / "checkpoint" / "state.json").exists()
    assert not (killed / "summary.json").exists()
    # Execute
    resumed = simulate(resolve_config(None, [f"resume={killed}"]))
    # Assert: the same rounds; a finished run keeps no checkpoint (a copy of the client state)
    assert not (whole / "checkpoint").exists() and not (resumed / "checkpoint").exists()
    assert _summary(whole)["resumed_from_round"] is None
    assert _summary(resumed)["resumed_from_round"] == 2
    expected, actual = read_rounds(whole), read_rounds(resumed)
    assert [r["round"] for r in actual] == [1, 2, 3, 4]
    for want, got in zip(expected, actual, strict=True):
        assert _untimed(got) == _untimed(want)  # bit for bit, whichever node replied first


def test_resume_of_a_folder_without_config_is_a_clear_error(tmp_path):
    from fedrec.config import ConfigError

    with pytest.raises(ConfigError, match="resume"):
        resolve_config(None, [f"resume={tmp_path}"])


def _untimed(record: dict) -> dict:
    return {key: value for key, value in record.items() if "seconds" not in key}


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def test_a_checkpoint_restores_the_state_and_rounds_it_saved_until_discarded(tmp_path):
    # Prepare: a checkpoint at round 2 of a run with one user's state, then round 3 recorded
    run = RunFolder(tmp_path / "run")
    run.state_dir.mkdir()
    (run.state_dir / "user-0.npy").write_bytes(b"round 2")
    for server_round in (1, 2):
        run.append_round({"round": server_round})
    arrays = {"C": np.arange(6.0).reshape(2, 3)}
    write_checkpoint(run, Checkpoint(2, arrays, {"moments": [1.0]}))
    (run.state_dir / "user-0.npy").write_bytes(b"round 3")
    run.append_round({"round": 3})
    # Execute
    restored = restore_checkpoint(run)
    # Assert
    assert has_checkpoint(run.path)
    assert (restored.server_round, restored.strategy_state) == (2, {"moments": [1.0]})
    np.testing.assert_array_equal(restored.global_arrays["C"], arrays["C"])
    assert (run.state_dir / "user-0.npy").read_bytes() == b"round 2"
    assert [r["round"] for r in read_rounds(run.path)] == [1, 2]
    # Execute / Assert: gone with every copy of the clients' state it held
    discard_checkpoint(run)
    assert not has_checkpoint(run.path)
    assert sorted(p.name for p in run.path.iterdir()) == ["client_state", "metrics.jsonl", "ranks"]
