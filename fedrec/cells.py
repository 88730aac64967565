"""A grid's cells on disk: finished ones must agree with the grid, stopped ones resume or move.

:func:`cell_statuses` says where each cell stands without touching it (``fedrec compare
--status``), so a grid that runs for days across sessions can be checked before it is resumed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from fedrec.config import ConfigError, ExperimentConfig
from fedrec.config.diff import saved_differences
from fedrec.results import checkpoint_round, has_checkpoint, read_rounds, set_aside
from fedrec.run_lock import run_holder

if TYPE_CHECKING:
    from fedrec.grid import Grid

#: Config keys a finished cell may differ in from its grid: they do not change its result.
BOOKKEEPING = (
    "resume",
    "run_name",
    "output_dir",
    "progress",
    "checkpoint_every",
    "keep_client_state",
)


def refuse_stale(
    grid: Grid, finished: set[tuple[str, str, int]], resolve: Callable[..., ExperimentConfig]
) -> None:
    """Raise ``ConfigError`` if a finished cell was run with other settings than the grid's."""
    for cell in sorted(finished):
        run_dir = grid.run_dir(*cell)
        mismatch = _mismatch(run_dir, resolve(None, grid.overrides(*cell)))
        if mismatch:
            raise ConfigError(f"grid '{grid.name}': the finished cell {run_dir} {mismatch}")


def _mismatch(run_dir: Path, cfg: ExperimentConfig) -> str | None:
    """Say why a finished cell does not stand for ``cfg`` (``None`` when it does)."""
    if not (run_dir / "config.yaml").is_file():
        return "has no config.yaml"
    differ = saved_differences(run_dir, cfg, BOOKKEEPING)
    if not differ:
        return None
    return (
        f"was run with other settings for {differ} than the grid now gives it; move that "
        f"folder away to rerun it, or name the changed method anew"
    )


def leave_running(
    grid: Grid, todo: dict[tuple[str, str, int], ExperimentConfig]
) -> dict[tuple[str, str, int], ExperimentConfig]:
    """Return ``todo`` without the cells another process is running now (each one is said).

    Such a cell is neither resumed nor set aside under its runner (:mod:`fedrec.run_lock`).
    """
    free = {}
    for cell, cfg in todo.items():
        pid = run_holder(grid.run_dir(*cell))
        if pid is None:
            free[cell] = cfg
        else:
            print(f"cell {grid.run_dir(*cell)} is running in another process (pid {pid}); skipped")
    return free


def resume_or_set_aside(
    grid: Grid, todo: dict[tuple[str, str, int], ExperimentConfig]
) -> dict[tuple[str, str, int], ExperimentConfig]:
    """Return ``todo`` with every stopped cell that can resume pointed at its folder.

    A cell stopped before its summary continues from its checkpoint (``resume=<folder>``), as an
    uninterrupted run would, when the checkpoint was made with the settings the grid now gives it.
    Any other stopped cell's folder is set aside (:func:`~fedrec.results.set_aside`), and the cell
    starts afresh.
    """
    planned = dict(todo)
    for cell, cfg in todo.items():
        run_dir = grid.run_dir(*cell)
        if _resumable(run_dir, cfg):
            planned[cell] = dataclasses.replace(cfg, resume=str(run_dir))
            print(f"unfinished cell {run_dir} resumes from its checkpoint")
        elif run_dir.exists():
            print(f"unfinished cell moved to {set_aside(run_dir)}; running it again")
    return planned


def _resumable(run_dir: Path, cfg: ExperimentConfig) -> bool:
    if not (has_checkpoint(run_dir) and (run_dir / "config.yaml").is_file()):
        return False
    return not saved_differences(run_dir, cfg, BOOKKEEPING)


#: ``finished``; ``stale``: finished with other settings than the grid's (compare refuses it);
#: ``running`` in another process now; ``resumes``: stopped, continues from its checkpoint;
#: ``reruns``: stopped, starts afresh.
CellState = Literal["finished", "stale", "running", "resumes", "reruns", "to run"]
_STATES: tuple[CellState, ...] = ("finished", "stale", "running", "resumes", "reruns", "to run")


@dataclass(frozen=True)
class CellStatus:
    """Where one cell of a grid stands on disk.

    Attributes
    ----------
    name : str
        The cell's folder name.
    state : CellState
        See :data:`CellState`.
    rounds : int
        Rounds its ``metrics.jsonl`` holds (a stopped cell may hold rounds after its checkpoint).
    checkpoint : int or None
        The round a ``resumes`` cell continues after.
    minutes : float or None
        A finished cell's wall time; only the resuming process's when ``resumed_from`` is set.
    resumed_from : int or None
        The checkpoint round a finished cell was resumed from.
    pid : int or None
        The process of a ``running`` cell.
    """

    name: str
    state: CellState
    rounds: int = 0
    checkpoint: int | None = None
    minutes: float | None = None
    resumed_from: int | None = None
    pid: int | None = None


def cell_statuses(
    grid: Grid, cells: Iterable[tuple[str, str, int]], resolve: Callable[..., ExperimentConfig]
) -> list[CellStatus]:
    """Return where each of ``cells`` stands, as ``fedrec compare`` would find it; touch nothing."""
    return [_status(grid.run_dir(*cell), resolve(None, grid.overrides(*cell))) for cell in cells]


def _status(run_dir: Path, cfg: ExperimentConfig) -> CellStatus:
    name = run_dir.name
    if not run_dir.exists():
        return CellStatus(name, "to run")
    metrics = run_dir / "metrics.jsonl"
    rounds = len(read_rounds(run_dir)) if metrics.is_file() else 0
    summary_path = run_dir / "summary.json"
    if not summary_path.exists():
        pid = run_holder(run_dir)
        if pid is not None:
            return CellStatus(name, "running", rounds, checkpoint_round(run_dir), pid=pid)
        if _resumable(run_dir, cfg):
            return CellStatus(name, "resumes", rounds, checkpoint_round(run_dir))
        return CellStatus(name, "reruns", rounds)
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return CellStatus(
        name,
        "finished" if _mismatch(run_dir, cfg) is None else "stale",
        rounds,
        minutes=wall / 60 if (wall := summary.get("wall_seconds")) is not None else None,
        resumed_from=summary.get("resumed_from_round"),
    )


def status_report(grid: Grid, statuses: list[CellStatus]) -> str:
    """Return one line per cell and a count per state, as ``fedrec compare --status`` prints."""
    width = max((len(s.name) for s in statuses), default=0)
    lines = [f"{s.name:<{width}}  {s.state:<8}  {_detail(s)}".rstrip() for s in statuses]
    done = [s.minutes or 0.0 for s in statuses if s.state == "finished"]
    counts = ", ".join(f"{sum(s.state == state for s in statuses)} {state}" for state in _STATES)
    head = f"grid '{grid.name}' in {grid.output_dir}: {len(statuses)} cells: {counts}"
    return "\n".join([head, f"finished cells' wall time: {sum(done) / 60:.1f} h", *lines])


def _detail(s: CellStatus) -> str:
    if s.state == "running":
        return f"{s.rounds} rounds so far, in process {s.pid}"
    if s.state == "resumes":
        return f"{s.rounds} rounds run; continues after its round-{s.checkpoint} checkpoint"
    if s.state == "reruns":
        return f"{s.rounds} rounds run, no usable checkpoint: set aside and run from round 1"
    if s.minutes is None:
        return ""
    stale = _STALE if s.state == "stale" else ""
    resumed = f" (after resuming from round {s.resumed_from})" if s.resumed_from else ""
    return f"{stale}{s.rounds} rounds, {s.minutes:.1f} min{resumed}"


_STALE = "run with other settings than the grid's, move it away to rerun: "
