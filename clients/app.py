"""The Flower ClientApp: one node trains and evaluates the users it hosts.

In simulation a node hosts a fixed slice of the users (``partition-id`` of ``num-partitions``)
and trains the ones taking part this round together; on a device the same app hosts one user.
The algorithm (from the registry) keeps private tensors in the node's state folder; replies carry
only the keys listed in :mod:`fedrec.wire`: per global array the weighted sum over the node's
participants (or, when the strategy asks for them, each participant's sparse update), and scalar
statistics. Global arrays arrive dense or sparse (:mod:`fedrec.aggregation.codec`).
"""

from __future__ import annotations

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from clients.hosts import Host, host_for
from clients.runtime import prepare_process
from fedrec import wire
from fedrec.aggregation.codec import SEP, decode_arrays
from fedrec.algorithms.base import GlobalArrays, NodeUpdate, TrainOptions
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
        prepare_process(cfg)
        return cfg

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        host, arrays, server_round = _unpack(msg, context, resolve(context))
        options = _train_options(msg.content.config_records[wire.CONFIG])
        result = host.train(arrays, server_round, options)
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
        host, arrays, server_round = _unpack(msg, context, resolve(context))
        ranks = host.evaluate(arrays, server_round)
        records = ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in ranks.items()})
        metrics = MetricRecord({wire.NUM_EXAMPLES: len(ranks[wire.USERS])})
        return Message(RecordDict({wire.ARRAYS: records, wire.METRICS: metrics}), reply_to=msg)

    return app


def _train_options(config: ConfigRecord) -> TrainOptions:
    return TrainOptions(
        per_user=bool(config.get(wire.PER_USER, False)),
        upload_threshold=wire.scalar(config.get(wire.UPLOAD_THRESHOLD, 0.0)),
        upload_density=wire.scalar(config.get(wire.UPLOAD_DENSITY, 1.0)),
        proximal_mu=wire.scalar(config.get(wire.PROXIMAL_MU, 0.0)),
        dp_clip_norm=wire.scalar(config.get(wire.DP_CLIP_NORM, 0.0)),
        dp_noise_std=wire.scalar(config.get(wire.DP_NOISE_STD, 0.0)),
        record_users=bool(config.get(wire.RECORD_UPLOADS, False)),
    )


def _train_arrays(result: NodeUpdate) -> ArrayRecord:
    """Return the node sums ("sum:x"), or in per-user mode the users' updates ("updates:x.*")."""
    if result.users is None:
        return ArrayRecord({wire.SUM_PREFIX + k: Array(v.numpy()) for k, v in result.sums.items()})
    (name,) = result.sums  # per-user updates exist for an algorithm with one global matrix
    parts = result.users.to_arrays()
    if result.user_ids is not None:
        parts[wire.USER_IDS] = result.user_ids.astype(np.int64)
    prefix = wire.UPDATES_PREFIX + name + SEP
    return ArrayRecord({prefix + k: Array(np.ascontiguousarray(v)) for k, v in parts.items()})


def _unpack(
    msg: Message, context: Context, cfg: ExperimentConfig
) -> tuple[Host, GlobalArrays, int]:
    record = msg.content
    config = record.config_records[wire.CONFIG]
    server_round = int(wire.scalar(config[wire.SERVER_ROUND]))
    encoded = {k: a.numpy() for k, a in record.array_records[wire.ARRAYS].items()}
    arrays = {k: torch.from_numpy(v) for k, v in decode_arrays(encoded).items()}
    host = host_for(context.node_config, cfg, str(config.get(wire.STATE_DIR, "")))
    return host, arrays, server_round


app = make_client_app()
