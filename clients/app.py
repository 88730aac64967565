"""The Flower ClientApp: one node trains and evaluates the users it hosts.

In simulation a node hosts a fixed slice of the users (``partition-id`` of ``num-partitions``)
and trains the ones taking part this round together; on a device the same app hosts one user.
The algorithm (from the registry) keeps private tensors in the node's state folder; replies carry
only the keys listed in :mod:`fedrec.wire`: per global array the weighted sum over the node's
participants (or, when the strategy asks for them, each participant's sparse update), and scalar
statistics. Global arrays arrive dense or sparse (:mod:`fedrec.aggregation.codec`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from clients.runtime import algorithm_for, set_threads, split_for
from fedrec import wire
from fedrec.aggregation.codec import SEP, decode_arrays
from fedrec.algorithms.base import GlobalArrays, NodeData, NodeUpdate, TrainOptions
from fedrec.algorithms.participation import hosted_users
from fedrec.config import ExperimentConfig, from_run_config


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
        cfg = config if config is not None else from_run_config(context.run_config)
        set_threads(cfg)
        return cfg

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        cfg = resolve(context)
        node, arrays, server_round = _unpack(msg, context, cfg)
        options = _train_options(msg.content.config_records[wire.CONFIG])
        result = algorithm_for(cfg).train_node(node, arrays, server_round, options)
        metrics = MetricRecord(
            {
                wire.WEIGHT_SUM: result.weight_sum,
                wire.NUM_USERS: result.num_users,
                wire.NUM_EXAMPLES: result.num_examples,
                wire.NUM_DROPPED: result.num_dropped,
                wire.LOSS_SUM: result.loss_sum,
                wire.EPOCHS_SUM: result.epochs_sum,
                wire.TRAIN_SECONDS: result.train_seconds,
                wire.UPLOAD_BYTES: result.upload_bytes,
            }
        )
        content = RecordDict({wire.ARRAYS: _train_arrays(result), wire.METRICS: metrics})
        return Message(content, reply_to=msg)

    @app.evaluate()
    def evaluate(msg: Message, context: Context) -> Message:
        cfg = resolve(context)
        node, arrays, _ = _unpack(msg, context, cfg)
        ranks = algorithm_for(cfg).evaluate_node(node, arrays)
        records = ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in ranks.items()})
        metrics = MetricRecord({wire.NUM_EXAMPLES: len(node.hosted)})
        return Message(RecordDict({wire.ARRAYS: records, wire.METRICS: metrics}), reply_to=msg)

    return app


def _train_options(config: ConfigRecord) -> TrainOptions:
    return TrainOptions(
        per_user=bool(config.get(wire.PER_USER, False)),
        upload_threshold=wire.scalar(config.get(wire.UPLOAD_THRESHOLD, 0.0)),
        upload_density=wire.scalar(config.get(wire.UPLOAD_DENSITY, 1.0)),
        proximal_mu=wire.scalar(config.get(wire.PROXIMAL_MU, 0.0)),
    )


def _train_arrays(result: NodeUpdate) -> ArrayRecord:
    """Return the node sums ("sum:x"), or in per-user mode the users' updates ("updates:x.*")."""
    if result.users is None:
        return ArrayRecord({wire.SUM_PREFIX + k: Array(v.numpy()) for k, v in result.sums.items()})
    (name,) = result.sums  # per-user updates exist for an algorithm with one global matrix
    parts = result.users.to_arrays()
    prefix = wire.UPDATES_PREFIX + name + SEP
    return ArrayRecord({prefix + k: Array(np.ascontiguousarray(v)) for k, v in parts.items()})


def _unpack(
    msg: Message, context: Context, cfg: ExperimentConfig
) -> tuple[NodeData, GlobalArrays, int]:
    record = msg.content
    config = record.config_records[wire.CONFIG]
    server_round = int(wire.scalar(config[wire.SERVER_ROUND]))
    encoded = {k: a.numpy() for k, a in record.array_records[wire.ARRAYS].items()}
    arrays = {k: torch.from_numpy(v) for k, v in decode_arrays(encoded).items()}
    partition = int(wire.scalar(context.node_config.get("partition-id", 0)))
    num_partitions = int(wire.scalar(context.node_config.get("num-partitions", 1)))
    split = split_for(cfg)
    hosted = hosted_users(split.n_users, partition, num_partitions)
    folder = Path(str(config[wire.STATE_DIR])) / f"node-{partition:04d}-of-{num_partitions:04d}"
    return NodeData(split, hosted, folder), arrays, server_round


app = make_client_app()
