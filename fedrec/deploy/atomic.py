"""Crash-safe file writes: write a temporary file, fsync it, rename it over the target.

A reader then sees either the old file or the new one, never a torn write, even if the process
is killed or the machine loses power in between (the folder is fsynced so the rename persists).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably.

    Parameters
    ----------
    path : Path
        Target file; its folder must exist.
    data : bytes
        The new content.
    """
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with temp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temp, path)
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Persist a folder's entries (renames, removals) to disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256(data: bytes) -> str:
    """Return the hex SHA-256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()
