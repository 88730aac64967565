"""One process at a time in a run folder: an advisory lock the OS drops with its holder.

Two processes writing one run folder (two ``fedrec compare`` of the same grid, or a resume of a
run that is still going) would interleave their rounds and, worse, the second could set the
first's folder aside under it. A run holds ``run.lock`` with ``flock`` for as long as it runs;
the kernel releases it when the process ends, however it ends, so a killed run never leaves a
stale lock behind. The file stays, holding the last holder's pid.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fedrec.config import ConfigError

LOCK_FILE = "run.lock"


@contextmanager
def hold_run_folder(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the ``with`` block (the folder is created if missing).

    Raises
    ------
    ConfigError
        If another process holds it: that process is running in the folder.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / LOCK_FILE).open("a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            raise ConfigError(_in_use(run_dir, fh.read().strip())) from None
        fh.truncate(0)
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_holder(run_dir: Path) -> int | None:
    """Return the pid of the live process running in ``run_dir``, or ``None`` if there is none."""
    path = run_dir / LOCK_FILE
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return int(fh.read().strip() or 0)
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


def refuse_if_running(run_dir: Path) -> None:
    """Raise ``ConfigError`` if a live process is running in ``run_dir``."""
    pid = run_holder(run_dir)
    if pid is not None:
        raise ConfigError(_in_use(run_dir, pid))


def _in_use(run_dir: Path, pid: object) -> str:
    return f"run folder {run_dir} is in use by another process (pid {pid}); let it end or stop it"
