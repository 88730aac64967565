"""A grid's cells on disk: finished ones must agree with the grid, stopped ones resume or move."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fedrec.config import ConfigError, ExperimentConfig
from fedrec.config.diff import saved_differences
from fedrec.results import has_checkpoint, set_aside

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
        if not (run_dir / "config.yaml").is_file():
            raise ConfigError(f"grid '{grid.name}': the finished cell {run_dir} has no config.yaml")
        differ = saved_differences(run_dir, resolve(None, grid.overrides(*cell)), BOOKKEEPING)
        if differ:
            raise ConfigError(
                f"grid '{grid.name}': the finished cell {run_dir} was run with other settings "
                f"for {differ} than the grid now gives it; move that folder away to rerun it, "
                f"or name the changed method anew"
            )


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
