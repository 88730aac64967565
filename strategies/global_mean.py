"""Aggregate an algorithm's global arrays: the (weighted) mean over the round's participants.

Nodes host cohorts of users, so a reply carries ``Σ_u w_u x_u`` and ``Σ_u w_u`` over its users
for every global array ``x`` rather than one ``x`` per user; dividing the totals gives exactly the
reference's mean over participants (``w_u = 1``) or an example-weighted mean. Replies with a
missing or extra array, a wrong shape, NaN/Inf or a negative weight are dropped with a logged
reason, and the round aggregates the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from fedrec import wire
from fedrec.metrics import pool_by_user, summarise_ranks

log = logging.getLogger(__name__)

#: Node statistics that add up over replies.
SUMMED = (
    wire.WEIGHT_SUM,
    wire.NUM_USERS,
    wire.NUM_EXAMPLES,
    wire.NUM_DROPPED,
    wire.LOSS_SUM,
    wire.EPOCHS_SUM,
)


class GlobalMean(FedAvg):
    """FedAvg over every global array, for replies that carry per-node weighted sums.

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
        self.expected: dict[str, tuple[int, ...]] = {}
        self.rejected: list[str] = []
        self.last_ranks: dict[str, np.ndarray] = {}

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Remember the global arrays' names and shapes, then send them to every node."""
        self.expected = {wire.SUM_PREFIX + k: tuple(a.shape) for k, a in arrays.items()}
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Divide the summed contributions of the valid replies by their summed weights."""
        self.rejected = []
        totals: dict[str, np.ndarray] = {}
        stats = dict.fromkeys(SUMMED, 0.0)
        slowest = 0.0
        for msg in replies:
            if not self._usable(msg):
                continue
            arrays = msg.content.array_records[wire.ARRAYS]
            for key in self.expected:
                value = arrays[key].numpy().astype(np.float64)
                totals[key] = totals[key] + value if key in totals else value
            metrics = msg.content.metric_records[wire.METRICS]
            for key in stats:
                stats[key] += wire.scalar(metrics.get(key, 0.0))
            slowest = max(slowest, wire.scalar(metrics.get(wire.TRAIN_SECONDS, 0.0)))
        if not totals or stats[wire.WEIGHT_SUM] <= 0:
            return None, None
        weight = stats[wire.WEIGHT_SUM]
        new = {
            k.removeprefix(wire.SUM_PREFIX): (v / weight).astype(np.float32)
            for k, v in totals.items()
        }
        return ArrayRecord({k: Array(v) for k, v in new.items()}), self._train_metrics(
            stats, slowest
        )

    def _train_metrics(self, stats: dict[str, float], slowest: float) -> MetricRecord:
        users = max(stats[wire.NUM_USERS], 1.0)
        return MetricRecord(
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

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        """Pool the per-user ranks of all nodes and compute HR@K and NDCG@K over users."""
        parts: dict[str, list[np.ndarray]] = {key: [] for key in wire.EVALUATE_REPLY_ARRAYS}
        for msg in replies:
            if msg.has_error():
                log.warning(
                    "evaluation failed on node %s: %s", msg.metadata.src_node_id, msg.error.reason
                )
                continue
            arrays = msg.content.array_records[wire.ARRAYS]
            for key in parts:
                parts[key].append(arrays[key].numpy())
        if not parts[wire.USERS]:
            return None
        self.last_ranks = pool_by_user(parts, wire.USERS)
        ranks = {k: v for k, v in self.last_ranks.items() if k != wire.USERS}
        metrics: dict[str, float | int] = dict(summarise_ranks(ranks, self.top_k))
        return MetricRecord(metrics)  # type: ignore[arg-type]

    def _usable(self, msg: Message) -> bool:
        reason = _problem(msg, self.expected)
        if reason is None:
            return True
        node = msg.metadata.src_node_id
        self.rejected.append(f"node {node}: {reason}")
        log.warning("dropping reply from node %s: %s", node, reason)
        return False


def _problem(msg: Message, expected: dict[str, tuple[int, ...]]) -> str | None:
    if msg.has_error():
        return f"client error: {msg.error.reason}"
    content = msg.content
    if wire.ARRAYS not in content.array_records or wire.METRICS not in content.metric_records:
        return "missing arrays or metrics record"
    arrays, metrics = content.array_records[wire.ARRAYS], content.metric_records[wire.METRICS]
    if set(arrays.keys()) != set(expected):
        return f"unexpected arrays {sorted(arrays.keys())}, expected {sorted(expected)}"
    if wire.WEIGHT_SUM not in metrics:
        return "missing weight-sum"
    weight = wire.scalar(metrics[wire.WEIGHT_SUM])
    for key, shape in expected.items():
        value = arrays[key].numpy()
        if tuple(value.shape) != shape:
            return f"{key}: shape {tuple(value.shape)} != expected {shape}"
        if not np.isfinite(value).all():
            return f"{key}: non-finite values"
    if not np.isfinite(weight) or weight < 0:
        return "non-finite or negative weight"
    return None
