"""The Flower ServerApp: prepare the run folder, run the rounds, write the summary."""

from __future__ import annotations

import dataclasses
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from clients.runtime import split_for
from fedrec.algorithms import create_algorithm
from fedrec.config import ConfigError, ExperimentConfig, from_run_config
from fedrec.deploy.catalogue import catalogue_only
from fedrec.privacy.accounting import record_level_summary
from fedrec.privacy.client_level import client_dp_summary, expected_clients
from fedrec.resources import PeakRSS
from fedrec.results import RunFolder, rank_intervals, summarise
from fedrec.run_lock import hold_run_folder
from fedrec.state.budget import StorePlacement, model_store_bytes, place_store
from server.checkpoint import Checkpoint, discard_checkpoint, restore_checkpoint
from server.loop import run_rounds
from server.resume import check_resumable


def default_run_name(cfg: ExperimentConfig) -> str:
    """Name a run folder after what it ran and when."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{cfg.algorithm}-{cfg.dataset}-{cfg.protocol}-s{cfg.seed}"


def with_run_name(cfg: ExperimentConfig) -> ExperimentConfig:
    """Return the config with ``run_name`` filled in if it was empty."""
    return cfg if cfg.run_name else dataclasses.replace(cfg, run_name=default_run_name(cfg))


def run_experiment(grid: Grid, cfg: ExperimentConfig) -> Path:
    """Run one experiment on ``grid`` (or resume it) and return its run folder."""
    cfg = with_run_name(cfg)
    run_dir = Path(cfg.resume) if cfg.resume else Path(cfg.output_dir) / cfg.run_name
    with hold_run_folder(run_dir):  # before anything is read or written there
        if not cfg.resume:
            refuse_earlier_run(run_dir)
        return _run_in(RunFolder(run_dir), grid, cfg)


def _run_in(run: RunFolder, grid: Grid, cfg: ExperimentConfig) -> Path:
    """Run (or resume) the rounds in ``run``, then write the summary; return the folder."""
    placement = None if cfg.deployment.enabled else _place_store(run, cfg)
    if placement and not cfg.resume and placement.path.exists():
        # Private state of a run that recorded no round here (refused above otherwise): starting
        # from it would give users another run's D.
        shutil.rmtree(placement.path)
    started = time.perf_counter()
    finished = False
    try:
        with PeakRSS() as rss:
            start = _resume(run, cfg) if cfg.resume else _fresh_start(run, cfg)
            records = run_rounds(grid, cfg, run, start)
        extra = {
            "peak_rss_mb": rss.peak_mb,
            "peak_anon_shmem_mb": rss.peak_held_mb,
            "wall_seconds": time.perf_counter() - started,
            # wall_seconds counts this process only: a resumed run's earlier rounds ran before.
            "resumed_from_round": start.server_round if cfg.resume else None,
            "client_state": _state_summary(placement, cfg.keep_client_state),
            # Every user's DP-SGD steps sit in its node's ledger, in the store.
            **record_level_summary(cfg.dpsgd, run.state_dir),
        }
        finished = True
    finally:
        _settle_store(run, placement, keep=cfg.keep_client_state or not finished)
    extra.update(_client_dp_summary(cfg, len(records)))
    summary = summarise(cfg, records, extra)
    if summary["best_round"] is not None:
        summary["intervals_95"] = rank_intervals(run.path, summary["best_round"], cfg.eval.top_k)
    run.write_summary(summary)
    discard_checkpoint(run)  # only now: a run stopped before its summary can still resume
    return run.path


def refuse_earlier_run(run_dir: Path) -> None:
    """Refuse a fresh start in a folder that holds an earlier run's rounds.

    Raises
    ------
    ConfigError
        If ``run_dir`` has ``metrics.jsonl`` or ``summary.json``: appending to them, or reusing
        that run's client state, would mix two runs.
    """
    found = [name for name in ("summary.json", "metrics.jsonl") if (run_dir / name).exists()]
    if found:
        raise ConfigError(
            f"run folder {run_dir} already holds a run ({found[0]}): resume it with "
            f"resume={run_dir}, or choose another run_name or output_dir"
        )


def _client_dp_summary(cfg: ExperimentConfig, rounds: int) -> dict[str, object]:
    """ε of client-level DP (Opacus RDP) for the run's sampling rate and rounds."""
    if cfg.client_dp.mode == "none" or cfg.deployment.enabled:
        return {}
    population = split_for(cfg).n_users
    fed = cfg.federation
    expected = expected_clients(fed.clients_per_round, fed.participation, population)
    return client_dp_summary(cfg.client_dp, rounds, expected, population)


def _place_store(run: RunFolder, cfg: ExperimentConfig) -> StorePlacement:
    """Place the simulated clients' state store (in RAM if it fits) and point the run at it."""
    split = split_for(cfg)
    size = model_store_bytes(cfg, split.n_users, split.n_items)
    placement = place_store(run.path, run.path.name, size, cfg.federation.state_memory_mb)
    run.state_dir = placement.path
    return placement


def _state_summary(placement: StorePlacement | None, kept: bool) -> dict[str, object]:
    if placement is None:
        return {"on_devices": True}
    return {
        "in_ram": placement.in_ram,
        "bytes": placement.store_bytes,
        "path": str(placement.path),
        "kept": kept,
    }


def _settle_store(run: RunFolder, placement: StorePlacement | None, keep: bool) -> None:
    """Delete the clients' private state, or keep it in the run folder (out of RAM).

    A finished run's store is read by nothing (a resumed run starts from its checkpoint's copy)
    and is large: 2.7 GB for FedRAP on ML-1M. A stopped or failed run keeps it, for inspection.
    """
    if placement is None or not placement.path.exists():
        return
    if not keep:
        shutil.rmtree(placement.path)
    elif placement.in_ram:
        shutil.rmtree(run.path / "client_state", ignore_errors=True)
        shutil.move(placement.path, run.path / "client_state")


def _fresh_start(run: RunFolder, cfg: ExperimentConfig) -> Checkpoint:
    run.write_config(cfg)
    # The server needs only the catalogue size: from the config in deployment (it reads no
    # client data), from the split in simulation.
    catalogue = catalogue_only(cfg.deployment.n_items) if cfg.deployment.enabled else split_for(cfg)
    arrays = create_algorithm(cfg).initial_global(catalogue)
    return Checkpoint(server_round=0, global_arrays=arrays, strategy_state={})


def _resume(run: RunFolder, cfg: ExperimentConfig) -> Checkpoint:
    check_resumable(run.path, cfg)
    return restore_checkpoint(run)


#: How often the server looks for replies in a simulation; Flower's in-memory grid sleeps 0.1 s
#: between looks, so every round trip (two a round: train, evaluate) waited 0.05 s on average.
REPLY_POLL_SECONDS = 0.01


def poll_replies_often(grid: Grid) -> None:
    """Shorten the simulation grid's wait between looks for replies (other grids: unchanged)."""
    if isinstance(getattr(grid, "pull_interval", None), float):
        grid.pull_interval = min(grid.pull_interval, REPLY_POLL_SECONDS)  # type: ignore[attr-defined]


def make_server_app(config: ExperimentConfig | None = None) -> ServerApp:
    """Build the ServerApp; without ``config`` it reads the run's ``run_config`` (``flwr run``)."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        cfg = config if config is not None else from_run_config(context.run_config)
        poll_replies_often(grid)
        run_experiment(grid, cfg)

    return app


app = make_server_app()
