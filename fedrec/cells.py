"""What a grid's finished cells must agree on: the settings the grid now gives them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fedrec.config import ConfigError, ExperimentConfig
from fedrec.config.diff import saved_differences

if TYPE_CHECKING:
    from fedrec.compare import Grid

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
