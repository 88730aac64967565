"""Each user's DP-SGD spending: how many noisy steps it took, at which rate and noise.

The ledger lives next to the users' private state (one file per node folder), as a device would
keep its own count: it records what the user actually ran, across every round it took part in,
and survives a resumed run with the state it describes. An Opacus accountant turns one entry into
ε (:mod:`fedrec.privacy.accounting`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fedrec.data.types import IntArray

LEDGER_FILE = "dpsgd_ledger.npy"
LEDGER_DTYPE = np.dtype(
    [("user", np.int64), ("steps", np.int64), ("sample_rate", np.float64), ("noise", np.float64)]
)


class PrivacyLedger:
    """Per user: DP-SGD steps taken, its sampling rate and noise multiplier.

    Parameters
    ----------
    folder : Path
        The node's state folder (the file is created there if missing).
    users : IntArray
        Sorted global ids of the users the node hosts.
    """

    def __init__(self, folder: Path, users: IntArray) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LEDGER_FILE
        if path.exists():
            self._table = np.load(path, mmap_mode="r+")
            if not np.array_equal(self._table["user"], users):
                raise ValueError(f"{path}: records other users than this node hosts")
        else:
            self._table = np.lib.format.open_memmap(
                path, mode="w+", dtype=LEDGER_DTYPE, shape=(len(users),)
            )
            self._table["user"] = users
        self.users = np.asarray(users, dtype=np.int64)

    def record(
        self, users: IntArray, steps: IntArray, sample_rate: np.ndarray, noise: float
    ) -> None:
        """Add a round's steps of ``users`` (each at its own sampling rate, all at ``noise``).

        Raises
        ------
        ValueError
            If a user's rate or noise changed since its earlier rounds: one entry per user
            cannot describe that history.
        """
        slots = np.searchsorted(self.users, users)
        old = self._table[slots]
        seen = old["steps"] > 0
        changed = seen & ((old["sample_rate"] != sample_rate) | (old["noise"] != noise))
        if changed.any():
            raise ValueError(
                f"user {int(users[changed][0])}: its DP-SGD sampling rate or noise changed "
                "between rounds; the ledger keeps one (rate, noise) per user"
            )
        self._table["steps"][slots] = old["steps"] + steps
        self._table["sample_rate"][slots] = sample_rate
        self._table["noise"][slots] = noise
        self._table.flush()


def read_ledgers(state_dir: Path) -> np.ndarray:
    """Return every node's ledger under a run's state folder, as one table (maybe empty)."""
    tables = [np.load(path) for path in sorted(state_dir.glob(f"*/{LEDGER_FILE}"))]
    return np.concatenate(tables) if tables else np.zeros(0, dtype=LEDGER_DTYPE)
