"""The Flower strategy for sparse row updates, composed with one aggregation rule.

Each round it sends the global arrays encoded dense or sparse, whichever is smaller
(:mod:`fedrec.aggregation.codec`), asks the nodes for node sums or per-user sparse updates as
the rule needs (:mod:`strategies.rules`), drops unusable replies and users with a logged reason
(:mod:`strategies.replies`), applies the rule, and soft-thresholds the 2-D arrays
(:mod:`fedrec.aggregation.prox`). Evaluation pools per-user ranks, leaves fake users out and
reports the attack target's exposure. The rule is a separate object, so wrappers (logging,
differential privacy) can wrap this strategy as a whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from fedrec import wire
from fedrec.aggregation.codec import density, encode_arrays
from fedrec.aggregation.prox import scheduled_density, sparsify
from fedrec.aggregation.rules import weighted_mean
from fedrec.aggregation.updates import UserUpdates
from fedrec.algorithms.fedrap.node import ITEM_GLOBAL
from fedrec.attack.exposure import exposure
from fedrec.config.strategy import SparsityConfig
from fedrec.metrics import pool_by_user, summarise_ranks
from strategies.global_mean import SUMMED, GlobalMean
from strategies.replies import Collected, collect
from strategies.rules import RoundInputs, Rule, TalksToClients

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StrategySettings:
    """What the strategy needs besides its rule.

    Attributes
    ----------
    num_nodes : int
        Nodes of the federation (all are contacted every round).
    top_k : int
        Cut-off of HR/NDCG and of the target's exposure.
    sparsity : SparsityConfig
        The L1 proximal step on 2-D global arrays.
    n_real_users : int or None
        Users with an id at or above this are fake and left out of evaluation metrics.
    item_decay : callable
        Round -> factor on the aggregated item table (FedRAP's ``c_decay=server``; else 1).
    """

    num_nodes: int
    top_k: int = 10
    sparsity: SparsityConfig = field(default_factory=SparsityConfig)
    n_real_users: int | None = None
    item_decay: Callable[[int], float] = field(default=lambda _round: 1.0)


class RowStrategy(GlobalMean):
    """A Flower strategy over sparse row updates; ``rule`` decides the aggregation.

    Parameters
    ----------
    rule : Rule
        The aggregation rule (FedAvg, FedMedian, Krum, ...).
    settings : StrategySettings
        Federation size, metrics cut-off, sparsity and fake users.
    """

    def __init__(self, rule: Rule, settings: StrategySettings) -> None:
        super().__init__(settings.num_nodes, settings.top_k)
        self.rule, self.settings = rule, settings
        self.current: dict[str, np.ndarray] = {}
        self.shadow: dict[str, np.ndarray] = {}  # the dense C behind the sent one (feedback)
        self.threshold = 0.0  # the last server-side threshold; clients prox their uploads by it
        self.download_bytes = 0  # one client's download, as serialised
        self.dense_bytes = 0  # the same arrays sent dense

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Send the encoded global arrays and what training must do this round."""
        self.current = {k: a.numpy() for k, a in arrays.items()}
        encoded = _encoded(self.current)
        self.download_bytes, self.dense_bytes = encoded.count_bytes(), arrays.count_bytes()
        config[wire.PER_USER] = self.rule.needs_users or bool(config.get(wire.RECORD_UPLOADS, 0))
        if isinstance(self.rule, TalksToClients):
            for key, value in self.rule.client_config().items():
                config[key] = value
        sparsity = self.settings.sparsity
        config[wire.UPLOAD_THRESHOLD] = self.threshold if sparsity.client_prox else 0.0
        config[wire.UPLOAD_DENSITY] = sparsity.upload_density if sparsity.client_prox else 1.0
        config[wire.PROXIMAL_MU] = self.rule.proximal_mu
        return FedAvg.configure_train(self, server_round, encoded, config, grid)

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Send the encoded global arrays for evaluation."""
        encoded = _encoded({k: a.numpy() for k, a in arrays.items()})
        return FedAvg.configure_evaluate(self, server_round, encoded, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Apply the rule to the valid replies, then the proximal step."""
        shapes = {k: tuple(v.shape) for k, v in self.current.items()}
        got = collect(list(replies), shapes)
        for reason in got.rejected:
            log.warning("dropping %s", reason)
        self.rejected = got.rejected
        stats, slowest = _stats(got.messages)
        inputs = _inputs(got, self.current, stats[wire.WEIGHT_SUM])
        if inputs is None:
            return None, None
        new = {k: self.rule.aggregate(k, v, inputs) for k, v in self.current.items()}
        if self.settings.sparsity.feedback:
            new = self._onto_shadow(new)
        factor = self.settings.item_decay(server_round)
        if factor != 1.0 and ITEM_GLOBAL in new:  # after any noise: post-processing
            new[ITEM_GLOBAL] = (new[ITEM_GLOBAL] * factor).astype(new[ITEM_GLOBAL].dtype)
        extra = self._sparsify(new, server_round)
        metrics = self._train_metrics(stats, slowest)
        for key, value in extra.items():
            metrics[key] = value
        metrics[wire.UPLOAD_BYTES] = _upload_bytes(got.messages)
        if isinstance(self.rule, TalksToClients):
            for key, value in self.rule.round_metrics().items():
                metrics[key] = value
        return ArrayRecord({k: Array(v) for k, v in new.items()}), metrics

    def _onto_shadow(self, new: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Add the round's change of each 2-D array to its dense shadow (round 1: the sent C)."""
        out = dict(new)
        for name, value in new.items():
            if value.ndim == 2:
                base = self.shadow.get(name, self.current[name])
                out[name] = (base + (value - self.current[name])).astype(np.float32)
        return out

    def _sparsify(self, new: dict[str, np.ndarray], server_round: int) -> dict[str, float]:
        sp, out = self.settings.sparsity, {}
        target = scheduled_density(sp.target_density, sp.ramp_rounds, server_round)
        for name, value in new.items():
            if value.ndim != 2:
                continue
            if sp.feedback:
                self.shadow[name] = value
            if sp.threshold > 0 or target < 1:
                result = sparsify(value, sp.threshold, target, sp.shrink, sp.scope)
                new[name], self.threshold = result.matrix, result.threshold
            out["density"] = density(new[name])
            out["threshold"] = self.threshold
        return out

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        """Pool per-user ranks of the real users; HR/NDCG@K and the target's exposure.

        In a simulation (``n_real_users`` known) a node whose evaluation failed stops the run:
        the metrics would otherwise cover only the other nodes' users. A device that fails is
        left out with a warning; ``eval_users`` says how many users the metrics cover.

        Raises
        ------
        RuntimeError
            If a simulated node's evaluation failed.
        """
        parts: dict[str, list[np.ndarray]] = {}
        for msg in replies:
            if msg.has_error():
                node = msg.metadata.src_node_id
                where = f"round {server_round}: evaluation failed on node {node}"
                if self.settings.n_real_users is not None:
                    raise RuntimeError(
                        f"{where} ({msg.error.reason}); its users would be missing from the "
                        "round's metrics"
                    )
                log.warning("%s: %s", where, msg.error.reason)
                continue
            for key, array in msg.content.array_records[wire.ARRAYS].items():
                parts.setdefault(key, []).append(array.numpy())
        if not parts.get(wire.USERS):
            return None
        pooled = pool_by_user(parts, wire.USERS)
        real = self.settings.n_real_users
        if real is not None:
            keep = pooled[wire.USERS] < real
            pooled = {key: value[keep] for key, value in pooled.items()}
        self.last_ranks = pooled
        ranks = {k: pooled[k] for k in wire.RANK_KEYS}
        metrics: dict[str, Any] = dict(summarise_ranks(ranks, self.top_k))
        metrics["eval_users"] = len(pooled[wire.USERS])
        if wire.TARGET_RANK in pooled:
            metrics[f"target_exposure{self.top_k}"] = exposure(pooled[wire.TARGET_RANK], self.top_k)
        return MetricRecord(metrics)

    def state(self) -> dict[str, Any]:
        """Return what a checkpoint must keep: the rule's state, the last threshold, shadows."""
        shadow = {k: v.ravel().tolist() for k, v in self.shadow.items()}
        return {"rule": self.rule.state(), "threshold": self.threshold, "shadow": shadow}

    def load_state(self, state: dict[str, Any], shapes: dict[str, tuple[int, ...]]) -> None:
        """Restore :meth:`state` (an empty state is a fresh start)."""
        self.rule.load_state(state.get("rule", {}), shapes)
        self.threshold = float(state.get("threshold", 0.0))
        self.shadow = {
            k: np.asarray(v, dtype=np.float32).reshape(shapes[k])
            for k, v in state.get("shadow", {}).items()
        }


def _encoded(arrays: dict[str, np.ndarray]) -> ArrayRecord:
    parts = encode_arrays(arrays)
    return ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in parts.items()})


def _upload_bytes(messages: list[Message]) -> int:
    """Return the replies' total upload bytes, or −1 when any reply did not count its own."""
    sizes = [
        wire.scalar(m.content.metric_records[wire.METRICS].get(wire.UPLOAD_BYTES, -1))
        for m in messages
    ]
    return -1 if any(size < 0 for size in sizes) else int(sum(sizes))


def _stats(messages: list[Message]) -> tuple[dict[str, float], float]:
    stats = dict.fromkeys(SUMMED, 0.0)
    slowest = 0.0
    for msg in messages:
        metrics = msg.content.metric_records[wire.METRICS]
        for key in stats:
            stats[key] += wire.scalar(metrics.get(key, 0.0))
        slowest = max(slowest, wire.scalar(metrics.get(wire.TRAIN_SECONDS, 0.0)))
    return stats, slowest


def _inputs(got: Collected, current: dict[str, np.ndarray], weight: float) -> RoundInputs | None:
    """Return the users' mean (from node sums, exactly as GlobalMean, or per-user updates)."""
    if got.totals:
        if weight <= 0:
            return None
        mean = {k: (v / weight).astype(np.float32) for k, v in got.totals.items()}
        return RoundInputs(mean=mean, users={})
    users = {
        name: UserUpdates.concat(parts, current[name].shape[1]) for name, parts in got.users.items()
    }
    if not users or any(u.n_users == 0 or u.weights.sum() <= 0 for u in users.values()):
        return None
    mean = {name: weighted_mean(u, current[name]) for name, u in users.items()}
    return RoundInputs(mean=mean, users=users)
