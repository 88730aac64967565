"""One Ray cluster for many runs: start it once, let every run join it, stop it after.

Flower's Ray backend starts a local Ray instance for every simulation and shuts it down after;
on the 2-core CPU, beside another run, ``ray.init`` alone took 11–14 s, and joining a running
cluster 0.2–2.8 s. A grid of short cells pays it once per cell, so ``fedrec compare`` runs its cells
against one cluster of its own (:func:`own_cluster`): a ``ray start --head --block`` child
process on a free port, with a temporary folder of its own, which joins no other cluster. No
other run joins it by accident: a run given no address starts a fresh Ray (``address="local"``),
and the head does not leave its address in ``/tmp/ray`` for a bare ``ray.init()`` to find after it
stopped (``ray start`` writes it to its temporary folder, deleted with the cluster). A grid killed
outright takes its cluster with it (Linux), leaving only that temporary folder. Every
process of the cluster descends from the grid's process, so a run's peak memory
(:mod:`fedrec.resources`) still counts its nodes.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
#: What ``ray start`` prints once its head node runs.
STARTED = "Ray runtime started."


@contextmanager
def own_cluster(log: Path, ready_timeout_s: float = 120.0) -> Iterator[str]:
    """Start a Ray head on a free port; yield its address; stop it on leaving.

    Parameters
    ----------
    log : Path
        File that receives the output of ``ray start``.
    ready_timeout_s : float
        Seconds to wait for the head to start.

    Yields
    ------
    str
        ``host:port``, for a run to join (``simulate(cfg, ray_address=...)``).

    Raises
    ------
    RuntimeError
        If the head exits or does not start in time (the log's tail says why).
    """
    port = _free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    # Ray's unix sockets live under this folder, and socket paths must stay under ~107 bytes.
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        with log.open("w", encoding="utf-8") as out:
            head = subprocess.Popen(
                [sys.executable, "-m", "ray.scripts.scripts", *start_args(port, temp_dir)],
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_stop_with_parent(),
            )
            try:
                _wait_until_started(head, ready_timeout_s, log)
                yield f"{HOST}:{port}"
            finally:
                _stop(head)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


def start_args(port: int, temp_dir: str) -> list[str]:
    """Return the ``ray`` arguments of a head that stays in the foreground until signalled."""
    return [
        "start",
        "--head",
        "--block",
        f"--port={port}",
        f"--temp-dir={temp_dir}",
        "--include-dashboard=false",
        "--disable-usage-stats",
    ]


def _stop_with_parent() -> Callable[[], None] | None:
    """Return what the head's process runs before it starts: ask Linux for SIGTERM when we die.

    A grid killed outright (SIGKILL, the end of a session) runs no ``finally``; without this its
    head, and every process of the cluster, would run on with no one to stop them. The signal
    comes when the thread that started the head ends, so :func:`own_cluster` belongs in a
    thread that outlives the runs (the main one, in ``fedrec compare``). ``prctl`` is looked up
    here, before the fork, so the child only calls it. ``None`` off Linux.
    """
    if sys.platform != "linux":
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def stop_with_parent() -> None:
        if prctl(_PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")

    return stop_with_parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _wait_until_started(head: subprocess.Popen[bytes], timeout_s: float, log: Path) -> None:
    """Wait for ``ray start`` to report its runtime started.

    Its port opens before its node registers, and a run joining in between finds no node.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if head.poll() is not None:
            raise RuntimeError(f"ray start exited with {head.returncode}: {_tail(log)}")
        if STARTED in log.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the Ray head did not start in {timeout_s:.0f} s: {_tail(log)}")


def _stop(head: subprocess.Popen[bytes]) -> None:
    """End the head; ``ray start --block`` stops every process of its cluster when signalled."""
    if head.poll() is None:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()


def _tail(log: Path, lines: int = 20) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"
