"""A grid's cells on disk: finished ones must agree with the grid, stopped ones resume or move.

:func:`cell_statuses` says where each cell stands without touching it. ``fedrec compare --status``
prints that (so a grid that runs for days across sessions can be checked before it is resumed),
and ``fedrec compare`` acts on it (:func:`refuse_stale`, :func:`plan_runs`), so the two agree.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from fedrec.config import ConfigError, ExperimentConfig
from fedrec.config.diff import saved_differences
from fedrec.results import checkpoint_round, has_checkpoint, read_rounds, set_aside
from fedrec.run_lock import run_holder

if TYPE_CHECKING:
    from fedrec.grid import Cell, Grid

#: Config keys a finished cell may differ in from its grid: they do not change its result.
BOOKKEEPING = (
    "resume",
    "run_name",
    "output_dir",
    "progress",
    "checkpoint_every",
    "keep_client_state",
)


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
    why : str or None
        What makes a ``stale`` cell's settings differ from the grid's.
    """

    name: str
    state: CellState
    rounds: int = 0
    checkpoint: int | None = None
    minutes: float | None = None
    resumed_from: int | None = None
    pid: int | None = None
    why: str | None = None


def cell_statuses(grid: Grid, configs: Mapping[Cell, ExperimentConfig]) -> dict[Cell, CellStatus]:
    """Return where each cell stands, given the config the grid gives it now; touch nothing."""
    return {cell: _status(grid.run_dir(*cell), cfg) for cell, cfg in configs.items()}


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
        if has_checkpoint(run_dir) and _mismatch(run_dir, cfg) is None:
            return CellStatus(name, "resumes", rounds, checkpoint_round(run_dir))
        return CellStatus(name, "reruns", rounds)
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    why = _mismatch(run_dir, cfg)
    return CellStatus(
        name,
        "finished" if why is None else "stale",
        rounds,
        minutes=wall / 60 if (wall := summary.get("wall_seconds")) is not None else None,
        resumed_from=summary.get("resumed_from_round"),
        why=why,
    )


def _mismatch(run_dir: Path, cfg: ExperimentConfig) -> str | None:
    """Say why a cell's folder does not stand for ``cfg`` (``None`` when it does)."""
    if not (run_dir / "config.yaml").is_file():
        return "has no config.yaml"
    differ = saved_differences(run_dir, cfg, BOOKKEEPING)
    return (
        f"was run with other settings for {differ} than the grid now gives it" if differ else None
    )


def refuse_stale(grid: Grid, statuses: Mapping[Cell, CellStatus]) -> None:
    """Raise ``ConfigError`` if a finished cell was run with other settings than the grid's."""
    for cell, status in statuses.items():
        if status.state == "stale":
            raise ConfigError(
                f"grid '{grid.name}': the finished cell {grid.run_dir(*cell)} {status.why}; "
                f"move that folder away to rerun it, or name the changed method anew"
            )


def plan_runs(
    grid: Grid, statuses: Mapping[Cell, CellStatus], configs: Mapping[Cell, ExperimentConfig]
) -> dict[Cell, ExperimentConfig]:
    """Return the config each unfinished cell of ``statuses`` runs with, saying what is done.

    A stopped cell whose checkpoint was made with the settings the grid now gives it continues
    from there (``resume=<folder>``), as an uninterrupted run would; any other stopped cell's
    folder is set aside (:func:`~fedrec.results.set_aside`) and the cell starts afresh. A cell
    another process runs now is skipped: neither resumed nor set aside under its runner
    (:mod:`fedrec.run_lock`). Finished and stale cells are not in the result.
    """
    planned = {}
    for cell, status in statuses.items():
        run_dir = grid.run_dir(*cell)
        if status.state == "running":
            print(f"cell {run_dir} is running in another process (pid {status.pid}); skipped")
        elif status.state == "resumes":
            planned[cell] = dataclasses.replace(configs[cell], resume=str(run_dir))
            print(f"unfinished cell {run_dir} resumes from its checkpoint")
        elif status.state == "reruns":
            print(f"unfinished cell moved to {set_aside(run_dir)}; running it again")
            planned[cell] = configs[cell]
        elif status.state == "to run":
            planned[cell] = configs[cell]
    return planned


def status_report(
    grid: Grid, statuses: Mapping[Cell, CellStatus], shown: Iterable[Cell] | None = None
) -> str:
    """Return one line per cell, a count per state and the time left, as ``--status`` prints.

    ``shown`` (default: every cell of ``statuses``) are the cells reported; the time left is
    estimated from all of ``statuses``, so a selection of unrun cells still has finished ones to
    go by.
    """
    listed = [statuses[cell] for cell in (statuses if shown is None else shown)]
    width = max((len(s.name) for s in listed), default=0)
    lines = [f"{s.name:<{width}}  {s.state:<8}  {_detail(s)}".rstrip() for s in listed]
    done = [s.minutes or 0.0 for s in listed if s.state == "finished"]
    counts = ", ".join(f"{sum(s.state == state for s in listed)} {state}" for state in _STATES)
    head = f"grid '{grid.name}' in {grid.output_dir}: {len(listed)} cells: {counts}"
    spent = f"finished cells' wall time: {sum(done) / 60:.1f} h"
    return "\n".join([head, spent, time_left(statuses, shown), *lines])


def time_left(statuses: Mapping[Cell, CellStatus], of: Iterable[Cell] | None = None) -> str:
    """Say how long the unfinished cells (of ``of``) would take, as their methods' finished cells.

    A cell's estimate is the median wall time of the finished cells of its setting and method in
    ``statuses`` (seeds differ in rounds run, so this is a guide, not a promise); cells finished
    after a resume are left out of the median, as their wall time is only the resumed part. A
    stopped cell that resumes is counted whole. Cells running now are not counted.
    """
    whole: dict[tuple[str, str], list[float]] = {}
    for (setting, method, _), s in statuses.items():
        if s.state == "finished" and s.minutes is not None and not s.resumed_from:
            whole.setdefault((setting, method), []).append(s.minutes)
    cells = statuses if of is None else of
    left = [cell[:2] for cell in cells if statuses[cell].state in ("resumes", "reruns", "to run")]
    known = [statistics.median(whole[key]) for key in left if key in whole]
    unknown = len(left) - len(known)
    text = f"left to run: {len(left)} cells, about {sum(known) / 60:.1f} h for the {len(known)} "
    text += "whose method has a finished cell (its median wall time)"
    return text + (f"; {unknown} with none to go by" if unknown else "")


def _detail(s: CellStatus) -> str:
    if s.state == "running":
        return f"{s.rounds} rounds so far, in process {s.pid}"
    if s.state == "resumes":
        return f"{s.rounds} rounds run; continues after its round-{s.checkpoint} checkpoint"
    if s.state == "reruns":
        return f"{s.rounds} rounds run, no usable checkpoint: set aside and run from round 1"
    resumed = f" (after resuming from round {s.resumed_from})" if s.resumed_from else ""
    done = "" if s.minutes is None else f"{s.rounds} rounds, {s.minutes:.1f} min{resumed}"
    return f"{s.why}; move it away to rerun it. {done}" if s.state == "stale" else done
