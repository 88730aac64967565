"""Peak resident memory of a run: this process and every process it started (Ray's included)."""

from __future__ import annotations

import threading
from types import TracebackType

import psutil


def tree_rss_bytes(root: psutil.Process) -> int:
    """Return the summed RSS of ``root`` and all its descendants."""
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._root = psutil.Process()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> int:
        """Take one sample now and return the peak so far, in bytes."""
        self.peak_bytes = max(self.peak_bytes, tree_rss_bytes(self._root))
        return self.peak_bytes

    @property
    def peak_mb(self) -> float:
        """Peak so far in MiB."""
        return self.peak_bytes / 2**20

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
