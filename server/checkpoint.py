"""Checkpoints of a run, and resuming from them.

A checkpoint holds everything the next round depends on: the global arrays, the round number, the
strategy's state and a copy of the client state store. The metrics so far stay in the run
folder's ``metrics.jsonl`` (resume truncates it to the checkpoint's round). There is no RNG
state to save: every random draw in fedrec is a pure function of (seed, round, user).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fedrec.results import CHECKPOINT_DIR, RunFolder, has_checkpoint, read_rounds


@dataclass(frozen=True)
class Checkpoint:
    """What a resumed run starts from."""

    server_round: int
    global_arrays: dict[str, np.ndarray]
    strategy_state: dict[str, Any]


def write_checkpoint(run: RunFolder, checkpoint: Checkpoint) -> None:
    """Write a checkpoint atomically: build it beside the old one, then swap them."""
    final, staging, retired = _folders(run)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    np.savez(staging / "global_arrays.npz", **checkpoint.global_arrays)  # type: ignore[arg-type]
    if run.state_dir.exists():
        shutil.copytree(run.state_dir, staging / "client_state")
    meta = {"round": checkpoint.server_round, "strategy": checkpoint.strategy_state}
    (staging / "state.json").write_text(json.dumps(meta), encoding="utf-8")
    shutil.rmtree(retired, ignore_errors=True)
    if final.exists():
        final.rename(retired)
    staging.rename(final)
    shutil.rmtree(retired, ignore_errors=True)


def discard_checkpoint(run: RunFolder) -> None:
    """Delete a finished run's checkpoint: nothing reads it, and it holds private client state.

    Resuming only continues a stopped run, with the settings it was saved with, so a finished
    run's checkpoint would only repeat its last rounds; its copy of the client state store would
    outlive the store itself (deleted unless ``keep_client_state``), 2.7 GB for FedRAP on ML-1M.
    """
    for folder in _folders(run):
        shutil.rmtree(folder, ignore_errors=True)


def _folders(run: RunFolder) -> tuple[Path, Path, Path]:
    """Return the checkpoint folder, the one being written, and the one being replaced."""
    final = run.path / CHECKPOINT_DIR
    return final, final.with_name(f"{CHECKPOINT_DIR}.tmp"), final.with_name(f"{CHECKPOINT_DIR}.old")


def restore_checkpoint(run: RunFolder) -> Checkpoint:
    """Put a run folder back to its checkpoint and return it.

    The client state store is replaced by the checkpoint's copy, and ``metrics.jsonl`` and the
    saved ranks are cut back to the checkpoint's round, so the resumed run appends to exactly
    what an uninterrupted run would have at that point.
    """
    folder = run.path / CHECKPOINT_DIR
    if not has_checkpoint(run.path):
        raise FileNotFoundError(f"{run.path} has no checkpoint to resume from")
    meta = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    server_round = int(meta["round"])
    shutil.rmtree(run.state_dir, ignore_errors=True)
    if (folder / "client_state").exists():
        shutil.copytree(folder / "client_state", run.state_dir)
    _truncate_records(run, server_round)
    with np.load(folder / "global_arrays.npz") as saved:
        arrays = {name: saved[name] for name in saved.files}
    return Checkpoint(server_round, arrays, meta["strategy"])


def _truncate_records(run: RunFolder, server_round: int) -> None:
    if (run.path / "metrics.jsonl").exists():
        kept = [r for r in read_rounds(run.path) if r["round"] <= server_round]
        (run.path / "metrics.jsonl").unlink()
        for record in kept:
            run.append_round(record)
    for ranks in (run.path / "ranks").glob("round-*.npz"):
        if int(ranks.stem.split("-")[1]) > server_round:
            ranks.unlink()
