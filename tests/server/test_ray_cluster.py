"""The same simulation runs on an existing Ray cluster when given its address."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from fedrec.cli import resolve_config, simulate
from tests.factories import tiny_synthetic

TINY = tiny_synthetic(30, 60, "rounds=2")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_two_rounds_on_a_local_ray_head(tmp_path):
    # Prepare: a Ray head on loopback, in its own process group so that only it is stopped.
    ray = shutil.which("ray", path=str(Path(sys.executable).parent))
    assert ray is not None
    port = _free_port()
    # Ray's unix sockets live under its temp dir, and socket paths must stay under ~107 bytes.
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    head = subprocess.Popen(
        [
            ray,
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--temp-dir={ray_tmp}",
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, head)
        overrides = [*TINY, f"output_dir={tmp_path}", f"federation.ray_address=127.0.0.1:{port}"]
        # Execute
        run = simulate(resolve_config(None, overrides))
        # Assert
        assert (run / "summary.json").exists()
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(ray_tmp, ignore_errors=True)


def _wait_for_port(port: int, head: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert head.poll() is None, "the Ray head exited"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(2)  # the GCS listens before the raylet has registered
                return
        time.sleep(0.5)
    raise AssertionError("the Ray head did not open its port")
