"""The Flower ClientApp: one node trains and evaluates the users it hosts.

In simulation a node hosts a fixed slice of the users (``partition-id`` of ``num-partitions``) and
trains the ones taking part this round together; on a device the same app hosts one user.
Private tensors stay in the node's :class:`~fedrec.state.store.ClientStateStore`; replies carry
only the keys listed in :mod:`fedrec.wire`.
"""

from __future__ import annotations

import numpy as np
import torch
from flwr.app import (
    Array,
    ArrayRecord,
    ConfigRecord,
    Context,
    Message,
    MetricRecord,
    RecordDict,
)
from flwr.clientapp import ClientApp

from clients.runtime import set_threads, split_for, store_for
from fedrec import wire
from fedrec.algorithms.fedrap.node import (
    evaluate_node,
    hosted_users,
    train_node,
)
from fedrec.config import ExperimentConfig, from_run_config
from fedrec.data.types import IntArray
from fedrec.state.budget import cohort_size
from fedrec.state.store import ClientStateStore


def make_client_app(config: ExperimentConfig | None = None) -> ClientApp:
    """Build the ClientApp.

    Parameters
    ----------
    config : ExperimentConfig, optional
        The experiment; when omitted (``flwr run``), it is read from the run's ``run_config``.

    Returns
    -------
    ClientApp
        An app with ``train`` and ``evaluate`` handlers.
    """
    app = ClientApp()

    def resolve(context: Context) -> ExperimentConfig:
        return config if config is not None else from_run_config(context.run_config)

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        cfg = resolve(context)
        set_threads(cfg)
        server_round, item_global, users, store = _unpack(msg, context, cfg)
        result = train_node(split_for(cfg), users, store, item_global, cfg, server_round)
        store.flush()
        arrays = ArrayRecord({wire.GLOBAL_SUM: Array(result.global_sum.numpy())})
        metrics = MetricRecord(
            {
                wire.WEIGHT_SUM: result.weight_sum,
                wire.NUM_USERS: result.num_users,
                wire.NUM_EXAMPLES: result.num_examples,
                wire.NUM_DROPPED: result.num_dropped,
                wire.LOSS_SUM: result.loss_sum,
                wire.EPOCHS_SUM: result.epochs_sum,
                wire.TRAIN_SECONDS: result.train_seconds,
            }
        )
        return Message(RecordDict({wire.ARRAYS: arrays, wire.METRICS: metrics}), reply_to=msg)

    @app.evaluate()
    def evaluate(msg: Message, context: Context) -> Message:
        cfg = resolve(context)
        set_threads(cfg)
        _, item_global, users, store = _unpack(msg, context, cfg)
        split = split_for(cfg)
        ranks = evaluate_node(
            split, users, store, item_global, cohort_size(split, cfg), cfg.eval.score
        )
        arrays = ArrayRecord({key: Array(np.ascontiguousarray(v)) for key, v in ranks.items()})
        metrics = MetricRecord({wire.NUM_EXAMPLES: len(users)})
        return Message(RecordDict({wire.ARRAYS: arrays, wire.METRICS: metrics}), reply_to=msg)

    return app


def _unpack(
    msg: Message, context: Context, cfg: ExperimentConfig
) -> tuple[int, torch.Tensor, IntArray, ClientStateStore]:
    record = msg.content
    config: ConfigRecord = record.config_records[wire.CONFIG]
    server_round = int(wire.scalar(config[wire.SERVER_ROUND]))
    item_global = torch.from_numpy(record.array_records[wire.ARRAYS][wire.ITEM_GLOBAL].numpy())
    partition = int(wire.scalar(context.node_config.get("partition-id", 0)))
    num_partitions = int(wire.scalar(context.node_config.get("num-partitions", 1)))
    split = split_for(cfg)
    users = hosted_users(split.n_users, partition, num_partitions)
    store = store_for(cfg, str(config[wire.STATE_DIR]), partition, num_partitions)
    return server_round, item_global, users, store


app = make_client_app()
