"""Peak resident memory of a run: this process and every process it started (Ray's included)."""

from __future__ import annotations

import threading
from types import TracebackType

import psutil


def tree_memory_bytes(root: psutil.Process) -> tuple[int, int]:
    """Return the summed RSS and the summed anonymous + shared-memory RSS of a process tree.

    RSS also counts the pages of mapped files — shared libraries, and the client state store when
    it is spilled to disk — which the kernel can drop and reread; anonymous and ``tmpfs`` pages
    cannot be dropped without swap, so the second figure is the memory the run truly holds.
    Where ``/proc`` gives no breakdown, both figures are the RSS.
    """
    rss = held = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            own = proc.memory_info().rss
            rss += own
            held += _anon_and_shmem(proc.pid, own)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return rss, held


def _anon_and_shmem(pid: int, fallback: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            fields = dict(line.split(":", 1) for line in status if line.startswith("Rss"))
        return sum(int(fields[k].split()[0]) * 1024 for k in ("RssAnon", "RssShmem"))
    except (OSError, KeyError, ValueError):
        return fallback


class PeakRSS:
    """Sample the process tree's RSS in a background thread; use as a context manager.

    Parameters
    ----------
    interval : float
        Seconds between samples.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self.peak_held_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._root = psutil.Process()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> int:
        """Take one sample now and return the peak RSS so far, in bytes."""
        rss, held = tree_memory_bytes(self._root)
        self.peak_bytes = max(self.peak_bytes, rss)
        self.peak_held_bytes = max(self.peak_held_bytes, held)
        return self.peak_bytes

    @property
    def peak_mb(self) -> float:
        """Peak RSS so far in MiB."""
        return self.peak_bytes / 2**20

    @property
    def peak_held_mb(self) -> float:
        """Peak anonymous + shared-memory RSS so far in MiB (see :func:`tree_memory_bytes`)."""
        return self.peak_held_bytes / 2**20

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
