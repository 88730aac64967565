"""One process at a time in a run folder; a killed holder leaves no lock behind."""

import os
import signal
import subprocess
import sys
import time

import pytest

from fedrec.config import ConfigError
from fedrec.run_lock import hold_run_folder, refuse_if_running, run_holder

HOLD = "import sys, time; from pathlib import Path; from fedrec.run_lock import hold_run_folder\n"
HOLD += "with hold_run_folder(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)\n"


def test_a_held_folder_refuses_a_second_holder_and_is_free_again_after(tmp_path):
    # Prepare / Execute / Assert: a second open of the lock conflicts, even in one process
    with hold_run_folder(tmp_path / "run"):
        assert run_holder(tmp_path / "run") == os.getpid()
        in_use = f"in use by another process \\(pid {os.getpid()}\\)"
        with pytest.raises(ConfigError, match=in_use), hold_run_folder(tmp_path / "run"):
            pass
        with pytest.raises(ConfigError, match="in use"):
            refuse_if_running(tmp_path / "run")
    assert run_holder(tmp_path / "run") is None
    refuse_if_running(tmp_path / "run")
    with hold_run_folder(tmp_path / "run"):
        pass


def test_a_folder_never_run_in_has_no_holder(tmp_path):
    assert run_holder(tmp_path) is None
    assert run_holder(tmp_path / "missing") is None


def test_a_killed_holder_leaves_the_folder_free(tmp_path):
    # Prepare: another process holds the folder
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"held"
        assert run_holder(run) == proc.pid
    finally:
        # Execute: it dies without running any cleanup of its own
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    # Assert: the kernel dropped its lock; the file with its pid remains
    deadline = time.monotonic() + 10
    while run_holder(run) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run_holder(run) is None
    assert (run / "run.lock").read_text() == str(proc.pid)
