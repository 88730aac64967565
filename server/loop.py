"""The server's round loop: train, aggregate, evaluate, record — with a progress bar.

It drives the strategy's four Flower methods itself (rather than ``Strategy.start``) so that
each round is timed, its bytes counted, and its record written as soon as it ends.
"""

from __future__ import annotations

import time
from typing import Any

from flwr.app import Array, ArrayRecord, ConfigRecord, Message
from flwr.serverapp import Grid
from tqdm import tqdm

from clients.runtime import split_for
from fedrec import wire
from fedrec.config.schema import ExperimentConfig
from fedrec.results import RunFolder, read_rounds, selectable
from server.checkpoint import Checkpoint, write_checkpoint
from server.record import record_uploads
from strategies import RowStrategy, create_strategy


def message_bytes(messages: list[Message]) -> int:
    """Return the serialised size of the arrays carried by ``messages``."""
    total = 0
    for msg in messages:
        if msg.has_error():
            continue
        total += sum(rec.count_bytes() for rec in msg.content.array_records.values())
    return total


def exchange(grid: Grid, sent: list[Message], timeout_s: float, what: str) -> list[Message]:
    """Send ``sent`` and return every reply, or raise if any is missing after ``timeout_s``.

    Without a limit a crashed Ray worker (or a lost device) left the server waiting forever. A
    missing reply stops the run rather than shrinking it: its users would silently drop out of
    the round or, worse, of the round's metrics. ``timeout_s`` 0 waits without limit.

    Raises
    ------
    RuntimeError
        If fewer replies than messages arrive within ``timeout_s``.
    """
    replies = list(grid.send_and_receive(sent, timeout=timeout_s or None))
    if len(replies) < len(sent):
        raise RuntimeError(
            f"{what}: {len(sent) - len(replies)} of {len(sent)} nodes sent no reply within "
            f"federation.reply_timeout_s={timeout_s:g} s (a crashed Ray worker or a lost "
            "device); the run stops here and resumes from its last checkpoint"
        )
    return replies


def run_rounds(
    grid: Grid, cfg: ExperimentConfig, run: RunFolder, start: Checkpoint
) -> list[dict[str, Any]]:
    """Run rounds ``start.server_round + 1 .. cfg.rounds``; return every round's record.

    Records of rounds before ``start`` are read back from the run folder (a resumed run).
    """
    strategy = create_strategy(cfg, _real_users(cfg), _population(cfg))
    shapes = {k: tuple(v.shape) for k, v in start.global_arrays.items()}
    strategy.load_state(start.strategy_state, shapes)
    arrays = ArrayRecord({k: Array(v) for k, v in start.global_arrays.items()})
    records = read_rounds(run.path) if start.server_round > 0 else []
    rounds = range(start.server_round + 1, cfg.rounds + 1)
    bar = tqdm(rounds, desc="rounds", unit="round", disable=not cfg.progress)
    timeout, metric = cfg.federation.reply_timeout_s, f"val_sampled_hr{cfg.eval.top_k}"
    for server_round in bar:
        audited = server_round == cfg.leakage.record_round
        record, arrays = _train(strategy, grid, server_round, arrays, run, timeout, audited)
        if server_round % cfg.eval.every == 0 or server_round == cfg.rounds:
            record.update(_evaluate(strategy, grid, server_round, arrays, run, timeout))
        run.append_round(record)
        records.append(record)
        _show(bar, record, cfg.eval.top_k)
        if cfg.checkpoint_every and server_round % cfg.checkpoint_every == 0:
            saved = {k: a.numpy() for k, a in arrays.items()}
            write_checkpoint(run, Checkpoint(server_round, saved, strategy.state()))
        if stalled(selectable(cfg, records), metric, cfg.eval.patience, cfg.eval.patience_from):
            break
    return records


def stalled(
    records: list[dict[str, Any]], metric: str, patience: int, patience_from: int = 0
) -> bool:
    """Return whether the last ``patience`` evaluations all failed to beat the best before them.

    ``patience`` 0 never stops. Only rounds that were evaluated count. Nothing stops before round
    ``patience_from``: a model whose validation score dips for a while after its first rounds
    would otherwise keep its round-1 state.
    """
    if records and records[-1]["round"] < patience_from:
        return False
    scores = [float(r[metric]) for r in records if metric in r]
    if patience == 0 or len(scores) <= patience:
        return False
    return max(scores[-patience:]) <= max(scores[:-patience])


def _real_users(cfg: ExperimentConfig) -> int | None:
    """Users that are not an attack's fakes; unknown (``None``) to a deployment's server."""
    if cfg.deployment.enabled:
        return None  # the server reads no client data
    split = split_for(cfg)
    return split.n_users - split.n_fake


def _population(cfg: ExperimentConfig) -> int | None:
    """All clients, fake ones included (client-level DP's sampling rate); unknown in deployment."""
    return None if cfg.deployment.enabled else split_for(cfg).n_users


def _train(
    strategy: RowStrategy,
    grid: Grid,
    server_round: int,
    arrays: ArrayRecord,
    run: RunFolder,
    timeout_s: float,
    audited: bool = False,
) -> tuple[dict[str, Any], ArrayRecord]:
    start = time.perf_counter()
    config = ConfigRecord({wire.STATE_DIR: str(run.state_dir), wire.RECORD_UPLOADS: audited})
    sent = list(strategy.configure_train(server_round, arrays, config, grid))
    replies = exchange(grid, sent, timeout_s, f"round {server_round}, training")
    if audited:
        record_uploads(run, server_round, replies, strategy.current)
    new_arrays, metrics = strategy.aggregate_train(server_round, replies)
    if new_arrays is None or metrics is None:
        raise RuntimeError(f"round {server_round}: no usable reply ({strategy.rejected})")
    clients = int(wire.scalar(metrics[wire.NUM_USERS]))
    uploaded = int(wire.scalar(metrics.get(wire.UPLOAD_BYTES, -1)))
    record: dict[str, Any] = {
        "round": server_round,
        "round_seconds": time.perf_counter() - start,
        "loss": wire.scalar(metrics["loss"]),
        "local_epochs": wire.scalar(metrics["epochs"]),
        "clients": clients,
        "dropped": int(wire.scalar(metrics[wire.NUM_DROPPED])),
        # The slowest node's pure local training: round_seconds minus this is overhead.
        "node_train_seconds_max": wire.scalar(metrics["train-seconds-max"]),
        "rejected": list(strategy.rejected),
        # What the per-user protocol moves, as serialised ArrayRecords: each participant
        # downloads the encoded global arrays (sparse when smaller) and uploads its own message
        # (FedRAP: its touched rows and one scale; others: the dense arrays).
        "download_bytes": clients * strategy.download_bytes,
        "upload_bytes": uploaded if uploaded >= 0 else clients * strategy.dense_bytes,
        # The same participants with dense arrays both ways (plain FedAvg of C).
        "dense_bytes": 2 * clients * strategy.dense_bytes,
        "sim_message_bytes_down": message_bytes(sent),
        "sim_message_bytes_up": message_bytes(replies),
    }
    kept = ("density", "threshold", "dp_clip_norm", "dp_noise_std", "dp_unclipped")
    record.update({k: wire.scalar(metrics[k]) for k in kept if k in metrics})
    return record, new_arrays


def _evaluate(
    strategy: RowStrategy,
    grid: Grid,
    server_round: int,
    arrays: ArrayRecord,
    run: RunFolder,
    timeout_s: float,
) -> dict[str, Any]:
    start = time.perf_counter()
    config = ConfigRecord({wire.STATE_DIR: str(run.state_dir)})
    sent = list(strategy.configure_evaluate(server_round, arrays, config, grid))
    replies = exchange(grid, sent, timeout_s, f"round {server_round}, evaluation")
    metrics = strategy.aggregate_evaluate(server_round, replies)
    if metrics is None:
        raise RuntimeError(f"round {server_round}: evaluation returned nothing")
    run.save_ranks(server_round, strategy.last_ranks)
    out: dict[str, Any] = {key: wire.scalar(value) for key, value in metrics.items()}
    out["eval_seconds"] = time.perf_counter() - start
    return out


def _show(bar: tqdm, record: dict[str, Any], k: int) -> None:
    if f"test_sampled_hr{k}" not in record:
        return
    bar.set_postfix(
        loss=f"{record['loss']:.4f}",
        val_hr=f"{record[f'val_sampled_hr{k}']:.4f}",
        test_hr=f"{record[f'test_sampled_hr{k}']:.4f}",
        test_ndcg=f"{record[f'test_sampled_ndcg{k}']:.4f}",
        s=f"{record['round_seconds']:.2f}",
    )
