"""A device's durable private state: D, the score head and the last global C, checksummed.

The state folder holds ``manifest.json`` and one ``state-NNNNNN.npz``. A save writes a new
numbered array file, then a new manifest naming it with its SHA-256, each atomically
(:mod:`fedrec.deploy.atomic`), then removes the older array file. A process killed at any point
leaves a manifest whose array file exists and matches its checksum; a mismatch therefore means
the disk content was damaged, and loading refuses it with :class:`StateCorruptError`.

The manifest's ``history`` has one entry per save, each naming the checksum of the state it
replaced (``parent``): a device that continued from its saved state has an unbroken chain back to
one ``init`` entry.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fedrec.data.types import IntArray
from fedrec.deploy.atomic import fsync_folder, sha256, write_atomic

MANIFEST = "manifest.json"
FORMAT = 1
_ARRAYS = ("item_local", "head_weight", "head_bias", "item_global", "seen")


class StateCorruptError(RuntimeError):
    """The state on disk fails its checksum or cannot be parsed; the message names the file."""


@dataclass(frozen=True)
class StateIdentity:
    """What a state must match to be used by a run: catalogue, dimension, initialisation."""

    n_items: int
    dim: int
    seed: int
    variant: str


@dataclass
class DeviceState:
    """One user's private model and bookkeeping, as held in memory between load and save."""

    identity: StateIdentity
    item_local: np.ndarray  # D, (n_items, dim) float32
    head_weight: np.ndarray  # (dim,) float32
    head_bias: np.ndarray  # (1,) float32
    item_global: np.ndarray  # the last global C received, (n_items, dim) float32
    seen: IntArray  # items the user interacted with (never recommended)
    sample_key: int  # this device's key for its random draws (negatives, shuffles)
    trained_round: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def checksum(self) -> str | None:
        """Return the checksum of the last saved version (``None`` if never saved)."""
        return str(self.history[-1]["sha256"]) if self.history else None


def save_state(folder: Path, state: DeviceState, event: dict[str, Any]) -> str:
    """Save ``state`` durably and append ``event`` (plus checksums) to its history.

    Parameters
    ----------
    folder : Path
        The state folder (created if missing).
    state : DeviceState
        What to save; its ``history`` gains one entry.
    event : dict
        JSON-serialisable description of the change (``event``, ``round``, statistics).

    Returns
    -------
    str
        The SHA-256 of the saved array file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **{name: getattr(state, name) for name in _ARRAYS})
    data = buffer.getvalue()
    digest = sha256(data)
    generation = len(state.history)
    name = f"state-{generation:06d}.npz"
    write_atomic(folder / name, data)
    entry = {**event, "generation": generation, "sha256": digest, "parent": state.checksum}
    state.history.append(entry)
    write_atomic(folder / MANIFEST, _manifest(state, name, digest).encode("utf-8"))
    for old in folder.glob("state-*.npz"):
        if old.name != name:
            old.unlink()
    for temp in folder.glob(".*.tmp-*"):  # left by a process killed mid-write
        temp.unlink()
    fsync_folder(folder)
    return digest


def load_state(folder: Path, expected: StateIdentity | None = None) -> DeviceState | None:
    """Load and verify the state in ``folder``; ``None`` if it holds none yet.

    Parameters
    ----------
    folder : Path
        The state folder.
    expected : StateIdentity, optional
        What the run needs; a state made for another catalogue, dimension, seed or variant is
        refused (``ValueError``) rather than silently reused.

    Returns
    -------
    DeviceState or None
        The state, or ``None`` when the folder has no manifest.

    Raises
    ------
    StateCorruptError
        If the manifest is unreadable, the array file is missing or fails its checksum.
    """
    path = folder / MANIFEST
    if not path.exists():
        return None
    manifest = _read_manifest(path)
    identity = StateIdentity(**manifest["identity"])
    if expected is not None and identity != expected:
        raise ValueError(
            f"{path}: this state was made for {identity}, the run needs {expected}; "
            "give the device another state-dir for this federation"
        )
    arrays = _read_arrays(folder / str(manifest["file"]), str(manifest["sha256"]), path)
    return DeviceState(
        identity=identity,
        sample_key=int(manifest["sample_key"]),
        trained_round=int(manifest["trained_round"]),
        history=list(manifest["history"]),
        **arrays,
    )


def _manifest(state: DeviceState, name: str, digest: str) -> str:
    body = {
        "format": FORMAT,
        "file": name,
        "sha256": digest,
        "identity": vars(state.identity),
        "sample_key": state.sample_key,
        "trained_round": state.trained_round,
        "history": state.history,
    }
    return json.dumps(body, indent=1)


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"not a format-{FORMAT} manifest")
        for key in ("file", "sha256", "identity", "sample_key", "trained_round", "history"):
            if key not in manifest:
                raise ValueError(f"no '{key}'")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise StateCorruptError(f"{path}: unreadable device state manifest ({err})") from err
    return manifest


def _read_arrays(path: Path, digest: str, manifest: Path) -> dict[str, np.ndarray]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise StateCorruptError(f"{path}: named by {manifest} but unreadable ({err})") from err
    actual = sha256(data)
    if actual != digest:
        raise StateCorruptError(
            f"{path}: checksum mismatch (sha256 {actual}, {manifest} expects {digest}): the "
            "device state is corrupted; restore the folder from a backup, or remove it to "
            "start this user afresh"
        )
    with np.load(io.BytesIO(data), allow_pickle=False) as saved:
        return {name: saved[name] for name in _ARRAYS}
