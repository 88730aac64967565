"""Aggregate FedRAP's global item view C: the (weighted) mean of the participants' local C.

Nodes host cohorts of users, so a reply carries ``Σ_u w_u C_u`` and ``Σ_u w_u`` over its users
rather than one C per user; dividing the totals gives exactly the reference's mean over
participants (``w_u = 1``) or the example-weighted mean (``w_u`` = the user's samples).
Replies with the wrong shape, NaN/Inf or a non-positive weight are dropped with a logged reason,
and the round aggregates the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from fedrec import wire
from fedrec.metrics import summarise_ranks

log = logging.getLogger(__name__)


class GlobalItemAverage(FedAvg):
    """FedAvg over the global item view, for replies that carry per-node sums.

    Parameters
    ----------
    num_nodes : int
        Nodes of the federation; every node is contacted each round (a node decides which of
        its users take part).
    top_k : int
        Cut-off of the HR/NDCG computed from the evaluation replies' per-user ranks.
    """

    def __init__(self, num_nodes: int, top_k: int = 10) -> None:
        super().__init__(
            min_train_nodes=num_nodes,
            min_evaluate_nodes=num_nodes,
            min_available_nodes=num_nodes,
            weighted_by_key=wire.NUM_EXAMPLES,
            arrayrecord_key=wire.ARRAYS,
            configrecord_key=wire.CONFIG,
        )
        self.top_k = top_k
        self.expected_shape: tuple[int, ...] | None = None
        self.rejected: list[str] = []
        self.last_ranks: dict[str, np.ndarray] = {}

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Remember C's shape, then send C and the config to every node."""
        self.expected_shape = tuple(arrays[wire.ITEM_GLOBAL].shape)
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Divide the summed contributions of the valid replies by their summed weights."""
        self.rejected = []
        total: np.ndarray | None = None
        stats = dict.fromkeys(
            (
                wire.WEIGHT_SUM,
                wire.NUM_USERS,
                wire.NUM_EXAMPLES,
                wire.NUM_DROPPED,
                wire.LOSS_SUM,
                wire.EPOCHS_SUM,
            ),
            0.0,
        )
        slowest = 0.0
        for msg in replies:
            contribution = self._check(msg)
            if contribution is None:
                continue
            total = contribution if total is None else total + contribution
            metrics = msg.content.metric_records[wire.METRICS]
            for key in stats:
                stats[key] += wire.scalar(metrics.get(key, 0.0))
            slowest = max(slowest, wire.scalar(metrics.get(wire.TRAIN_SECONDS, 0.0)))
        if total is None or stats[wire.WEIGHT_SUM] <= 0:
            return None, None
        item_global = (total / stats[wire.WEIGHT_SUM]).astype(np.float32)
        users = max(stats[wire.NUM_USERS], 1.0)
        metrics_out = MetricRecord(
            {
                "loss": stats[wire.LOSS_SUM] / users,
                "epochs": stats[wire.EPOCHS_SUM] / users,
                wire.NUM_USERS: int(stats[wire.NUM_USERS]),
                wire.NUM_EXAMPLES: int(stats[wire.NUM_EXAMPLES]),
                wire.NUM_DROPPED: int(stats[wire.NUM_DROPPED]),
                "train-seconds-max": slowest,
                "rejected-replies": len(self.rejected),
            }
        )
        return ArrayRecord({wire.ITEM_GLOBAL: Array(item_global)}), metrics_out

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        """Pool the per-user ranks of all nodes and compute HR@K and NDCG@K over users."""
        parts: dict[str, list[np.ndarray]] = {key: [] for key in wire.EVALUATE_REPLY_ARRAYS}
        for msg in replies:
            if msg.has_error():
                log.warning(
                    "evaluation failed on node %s: %s",
                    msg.metadata.src_node_id,
                    msg.error.reason,
                )
                continue
            arrays = msg.content.array_records[wire.ARRAYS]
            for key in parts:
                parts[key].append(arrays[key].numpy())
        if not parts[wire.USERS]:
            return None
        self.last_ranks = {key: np.concatenate(chunks) for key, chunks in parts.items()}
        ranks = {k: v for k, v in self.last_ranks.items() if k != wire.USERS}
        metrics: dict[str, float | int] = dict(summarise_ranks(ranks, self.top_k))
        return MetricRecord(metrics)  # type: ignore[arg-type]

    def _check(self, msg: Message) -> np.ndarray | None:
        """Return a reply's contribution, or None (with the reason logged) if it is unusable."""
        node = msg.metadata.src_node_id
        reason = _problem(msg, self.expected_shape)
        if reason is not None:
            self.rejected.append(f"node {node}: {reason}")
            log.warning("dropping reply from node %s: %s", node, reason)
            return None
        return msg.content.array_records[wire.ARRAYS][wire.GLOBAL_SUM].numpy().astype(np.float64)


def _problem(msg: Message, expected_shape: tuple[int, ...] | None) -> str | None:
    if msg.has_error():
        return f"client error: {msg.error.reason}"
    content = msg.content
    if wire.ARRAYS not in content.array_records or wire.METRICS not in content.metric_records:
        return "missing arrays or metrics record"
    arrays, metrics = (
        content.array_records[wire.ARRAYS],
        content.metric_records[wire.METRICS],
    )
    if set(arrays.keys()) != set(wire.TRAIN_REPLY_ARRAYS):
        return f"unexpected arrays {sorted(arrays.keys())}"
    if wire.WEIGHT_SUM not in metrics:
        return "missing weight-sum"
    value = arrays[wire.GLOBAL_SUM].numpy()
    if expected_shape is not None and tuple(value.shape) != expected_shape:
        return f"shape {tuple(value.shape)} != expected {expected_shape}"
    weight = wire.scalar(metrics[wire.WEIGHT_SUM])
    if not np.isfinite(value).all() or not np.isfinite(weight):
        return "non-finite values"
    if weight < 0:
        return "negative weight"
    return None
