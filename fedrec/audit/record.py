"""What the server recorded of one round: ``G`` as sent, and every user's upload with its id.

Saved as ``leakage/round-XXXX.npz`` in the run folder (``leakage.record_round``), the ragged
form of :class:`~fedrec.aggregation.updates.UserUpdates` plus ``users`` and ``item_global``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fedrec.aggregation.updates import OFFSETS, ROWS, SCALES, WEIGHTS, UserUpdates

_VALUES, _USERS, _GLOBAL = "values", "users", "item_global"


@dataclass(frozen=True)
class RecordedRound:
    """One recorded round: the global matrix sent, the uploads, and whose they are."""

    server_round: int
    item_global: np.ndarray
    updates: UserUpdates
    users: np.ndarray


def round_path(run_dir: Path, server_round: int) -> Path:
    """Return where round ``server_round``'s uploads are saved."""
    return run_dir / "leakage" / f"round-{server_round:04d}.npz"


def save_round(run_dir: Path, recorded: RecordedRound) -> Path:
    """Save ``recorded`` under the run folder; return the file."""
    path = round_path(run_dir, recorded.server_round)
    path.parent.mkdir(parents=True, exist_ok=True)
    u = recorded.updates
    parts = {
        OFFSETS: u.offsets,
        ROWS: u.rows,
        _VALUES: u.values,
        SCALES: u.scales,
        WEIGHTS: u.weights,
        _USERS: recorded.users,
        _GLOBAL: recorded.item_global,
    }
    np.savez_compressed(path, **parts)  # type: ignore[arg-type]
    return path


def load_round(path: Path) -> RecordedRound:
    """Read a file written by :func:`save_round`."""
    with np.load(path) as data:
        updates = UserUpdates(data[OFFSETS], data[ROWS], data[_VALUES], data[SCALES], data[WEIGHTS])
        round_id = int(path.stem.rpartition("-")[2])
        return RecordedRound(round_id, data[_GLOBAL], updates, data[_USERS])


def recorded_rounds(run_dir: Path) -> list[Path]:
    """Return the recorded rounds' files of a run, in round order."""
    return sorted((run_dir / "leakage").glob("round-*.npz"))
