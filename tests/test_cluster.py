"""A cluster of one's own: a simulation runs on it, its processes descend from ours, it stops
after, also when its owner is killed, and leaves no address behind."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import ray

import fedrec.cluster
from fedrec.cli import resolve_config, simulate
from fedrec.cluster import HOST, own_cluster
from tests.factories import tiny_synthetic

TINY = tiny_synthetic(30, 60, "rounds=2")


def _ours() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _gone(pids: set[int], timeout_s: float = 10.0) -> bool:
    """Whether every process in ``pids`` ended (zombies awaiting their reaper count as ended)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(_running(pid) for pid in pids):
            return True
        time.sleep(0.2)
    return False


def _running(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_a_simulation_runs_on_the_cluster_whose_processes_descend_from_ours_and_end(tmp_path):
    # Prepare
    before = _ours()
    address_file = Path("/tmp/ray/ray_current_cluster")  # where a bare ray.init() looks
    known = address_file.read_text() if address_file.is_file() else None
    # Execute: a simulation given the address in its config, then a look at the cluster
    with own_cluster(tmp_path / "head.log") as address:
        overrides = [*TINY, f"output_dir={tmp_path}", f"federation.ray_address={address}"]
        run = simulate(resolve_config(None, overrides))
        ray.init(address=address, log_to_driver=False)
        try:
            nodes = ray.nodes()
        finally:
            ray.shutdown()
        during = _ours() - before
        names = {psutil.Process(pid).name() for pid in during if psutil.pid_exists(pid)}
    # Assert: the run finished on one live node; its raylet is ours (so peak memory counts it)
    assert (run / "summary.json").exists()
    assert address.startswith(f"{HOST}:")
    assert sum(node["Alive"] for node in nodes) == 1
    assert any("raylet" in name for name in names)
    assert _gone(during)
    assert (address_file.read_text() if address_file.is_file() else None) == known


def test_a_head_that_fails_to_start_is_an_error_with_its_output(tmp_path, monkeypatch):
    # Prepare: ray start refuses an unknown option at once
    refused = ["start", "--no-such-option"]
    monkeypatch.setattr(fedrec.cluster, "start_args", lambda port, temp_dir: refused)
    # Execute / Assert
    with pytest.raises(RuntimeError, match="no-such-option"), own_cluster(tmp_path / "head.log"):
        pass


#: A grid's process in miniature: it starts a cluster, says where, and waits to be killed.
_OWNER = """
import sys, time
from pathlib import Path
from fedrec.cluster import own_cluster
with own_cluster(Path(sys.argv[1])) as address:
    print(address, flush=True)
    time.sleep(600)
"""


@pytest.mark.slow
def test_the_cluster_stops_when_its_owner_is_killed_outright(tmp_path):
    # Prepare: a process that owns a running cluster
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, str(tmp_path / "head.log")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        address = owner.stdout.readline().strip()
        cluster = {p.pid for p in psutil.Process(owner.pid).children(recursive=True)}
        # Execute: no `finally` runs in the owner
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=30)
    finally:
        owner.kill()
    # Assert: the head and its raylet, GCS and workers all end
    assert address.startswith(f"{HOST}:") and len(cluster) >= 3
    assert _gone(cluster, timeout_s=60)
