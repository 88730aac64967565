"""Refuse to resume a run folder with a config that would change what the run computes.

``fedrec run resume=<folder>`` reloads the saved config itself; under Flower's deployment engine
the ServerApp and every device get the config from ``flwr run --run-config`` instead, so the
resumed run must be given the same experiment again. A difference in anything but bookkeeping
would silently mix two experiments in one run folder.
"""

from __future__ import annotations

from pathlib import Path

from fedrec.cells import BOOKKEEPING as CELL_BOOKKEEPING
from fedrec.config import ConfigError, ExperimentConfig
from fedrec.config.diff import saved_differences

# Keys that may differ between the saved run and its resumption: a grid cell's bookkeeping, and
# the number of rounds (a resumed run may go further).
BOOKKEEPING = frozenset({*CELL_BOOKKEEPING, "rounds"})


def check_resumable(run_dir: Path, cfg: ExperimentConfig) -> None:
    """Raise ``ConfigError`` if ``cfg`` differs from the config saved in ``run_dir``.

    Parameters
    ----------
    run_dir : Path
        The run folder being resumed; it must hold ``config.yaml``.
    cfg : ExperimentConfig
        The config the resumed run was started with.
    """
    saved_path = run_dir / "config.yaml"
    if not saved_path.is_file():
        raise ConfigError(f"config key 'resume': {saved_path} not found")
    differ = saved_differences(run_dir, cfg, BOOKKEEPING)
    if differ:
        raise ConfigError(
            f"config key 'resume': the run in {run_dir} was made with other settings for "
            f"{differ}; resume it with the experiment saved in {saved_path}"
        )
