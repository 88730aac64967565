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

from fedrec import wire
from fedrec.config.schema import ExperimentConfig
from fedrec.results import RunFolder
from strategies.item_average import GlobalItemAverage


def message_bytes(messages: list[Message]) -> int:
    """Return the serialised size of the arrays carried by ``messages``."""
    total = 0
    for msg in messages:
        if msg.has_error():
            continue
        total += sum(rec.count_bytes() for rec in msg.content.array_records.values())
    return total


def run_rounds(
    grid: Grid, cfg: ExperimentConfig, run: RunFolder, initial: ArrayRecord
) -> list[dict[str, Any]]:
    """Run ``cfg.rounds`` federated rounds and return one record per round."""
    strategy = GlobalItemAverage(cfg.federation.num_nodes, cfg.eval.top_k)
    arrays, records = initial, []
    dense_bytes = initial[wire.ITEM_GLOBAL].numpy().nbytes
    bar = tqdm(range(1, cfg.rounds + 1), desc="rounds", unit="round", disable=not cfg.progress)
    for server_round in bar:
        record: dict[str, Any] = {"round": server_round}
        start = time.perf_counter()
        config = ConfigRecord({wire.STATE_DIR: str(run.state_dir)})
        sent = list(strategy.configure_train(server_round, arrays, config, grid))
        replies = list(grid.send_and_receive(sent))
        new_arrays, train_metrics = strategy.aggregate_train(server_round, replies)
        if new_arrays is None or train_metrics is None:
            raise RuntimeError(f"round {server_round}: no usable reply ({strategy.rejected})")
        arrays = new_arrays
        clients = int(wire.scalar(train_metrics[wire.NUM_USERS]))
        record.update(
            round_seconds=time.perf_counter() - start,
            loss=wire.scalar(train_metrics["loss"]),
            local_epochs=wire.scalar(train_metrics["epochs"]),
            clients=clients,
            dropped=int(wire.scalar(train_metrics[wire.NUM_DROPPED])),
            # The slowest node's pure local training: round_seconds minus this is overhead.
            node_train_seconds_max=wire.scalar(train_metrics["train-seconds-max"]),
            rejected=list(strategy.rejected),
            # What the per-user protocol moves: every participant downloads and uploads dense C.
            download_bytes=clients * dense_bytes,
            upload_bytes=clients * dense_bytes,
            sim_message_bytes_down=message_bytes(sent),
            sim_message_bytes_up=message_bytes(replies),
        )
        if server_round % cfg.eval.every == 0 or server_round == cfg.rounds:
            record.update(_evaluate(strategy, grid, server_round, arrays, run))
        run.append_round(record)
        records.append(record)
        _show(bar, record, cfg.eval.top_k)
    return records


def _evaluate(
    strategy: GlobalItemAverage,
    grid: Grid,
    server_round: int,
    arrays: ArrayRecord,
    run: RunFolder,
) -> dict[str, Any]:
    start = time.perf_counter()
    config = ConfigRecord({wire.STATE_DIR: str(run.state_dir)})
    sent = list(strategy.configure_evaluate(server_round, arrays, config, grid))
    metrics = strategy.aggregate_evaluate(server_round, list(grid.send_and_receive(sent)))
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


def initial_arrays(item_global: Array) -> ArrayRecord:
    """Wrap the initial C into the ArrayRecord the first round sends."""
    return ArrayRecord({wire.ITEM_GLOBAL: item_global})
