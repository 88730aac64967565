"""What one Flower node does for FedRAP: train or evaluate the users it hosts, in cohorts.

Framework-agnostic (numpy and torch only); ``clients/`` wraps it in Flower messages. A simulated
node hosts a fixed slice of the users; a real device hosts exactly one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from fedrec.algorithms.fedrap.cohort import (
    RoundSettings,
    sum_global_updates,
    train_cohort,
)
from fedrec.algorithms.fedrap.curriculum import round_learning_rates, round_weights
from fedrec.algorithms.fedrap.evaluate import RANK_KEYS, cohort_ranks
from fedrec.algorithms.fedrap.samples import build_round_samples
from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray, SplitData
from fedrec.rng import Stream, uniform
from fedrec.state.budget import cohort_size
from fedrec.state.store import ClientStateStore


@dataclass
class NodeTrainResult:
    """A node's contribution to one round: weighted sum of its users' C, and statistics."""

    global_sum: torch.Tensor  # Σ_u w_u C_u, shape (n_items, dim)
    weight_sum: float
    num_users: int
    num_examples: int
    num_dropped: int
    loss_sum: float
    epochs_sum: int
    train_seconds: float


def hosted_users(n_users: int, partition: int, num_partitions: int) -> IntArray:
    """Return the contiguous slice of users a simulated node owns."""
    if not 0 <= partition < num_partitions:
        raise ValueError(f"partition {partition} outside 0..{num_partitions - 1}")
    lo = partition * n_users // num_partitions
    hi = (partition + 1) * n_users // num_partitions
    return np.arange(lo, hi, dtype=np.int64)


def participants(
    users: IntArray, n_population: int, cfg: ExperimentConfig, server_round: int
) -> tuple[IntArray, int]:
    """Return the hosted users who take part in ``server_round`` and send an update.

    Sampling is exact when ``clients_per_round`` is set (the users with the smallest draws in
    the whole population), else each user takes part with probability ``participation``; a
    sampled user then drops out with probability ``dropout`` (it trains and sends nothing).
    Every draw is a function of (seed, round, user), so no node needs to talk to another.

    Returns
    -------
    tuple of (IntArray, int)
        The users that train, and the number of sampled users that dropped out.
    """
    fed, seed = cfg.federation, cfg.seed
    if fed.clients_per_round > 0:
        k = min(fed.clients_per_round, n_population)
        draws = uniform(seed, Stream.PARTICIPATION, server_round, np.arange(n_population))
        cutoff = np.partition(draws, k - 1)[k - 1]
        sampled = users[draws[users] <= cutoff]
    elif fed.participation < 1.0:
        sampled = users[
            uniform(seed, Stream.PARTICIPATION, server_round, users) < fed.participation
        ]
    else:
        sampled = users
    if fed.dropout <= 0.0:
        return sampled, 0
    stays = uniform(seed, Stream.DROPOUT, server_round, sampled) >= fed.dropout
    return sampled[stays], int((~stays).sum())


def cohorts(users: IntArray, size: int) -> Iterator[IntArray]:
    """Split users into consecutive cohorts of at most ``size``."""
    for start in range(0, len(users), size):
        yield users[start : start + size]


def training_cohorts(
    split: SplitData, users: IntArray, cfg: ExperimentConfig
) -> Iterator[IntArray]:
    """Group users by their number of local batches per epoch, then cut into cohorts.

    A step processes every row of its cohort, so a cohort where most users have one batch and
    a few have two would pay a full step for those few; users are independent, so grouping them
    changes no result.
    """
    samples = split.train_counts()[users] * (1 + cfg.fedrap.num_negatives)
    n_batches = -(-samples // cfg.fedrap.batch_size)
    for count in np.unique(n_batches):
        yield from cohorts(users[n_batches == count], cohort_size(split, cfg))


def train_node(
    split: SplitData,
    hosted: IntArray,
    store: ClientStateStore,
    item_global: torch.Tensor,
    cfg: ExperimentConfig,
    server_round: int,
) -> NodeTrainResult:
    """Train this round's participants among ``hosted`` and return their contribution."""
    start = time.perf_counter()
    users, dropped = participants(hosted, split.n_users, cfg, server_round)
    lam, mu = round_weights(cfg.fedrap, server_round)
    lr_head, lr_emb = round_learning_rates(cfg.fedrap, server_round)
    keys = (cfg.seed, server_round)
    settings = RoundSettings(lam=lam, mu=mu, lr_head=lr_head, lr_embedding=lr_emb, keys=keys)
    total = torch.zeros_like(item_global)
    weight_sum = loss_sum = 0.0
    examples = epochs = 0
    for cohort in training_cohorts(split, users, cfg):
        samples = build_round_samples(split, cohort, cfg.protocol, cfg.fedrap.num_negatives, keys)
        row_user, row_item = samples.row_user.numpy(), samples.row_item.numpy()
        state = store.touched(cohort, row_user, row_item)
        update = train_cohort(state, item_global, samples, cfg.fedrap, settings)
        store.update(cohort, row_user, row_item, state, update.untouched_scale)
        counts = samples.user_count.to(item_global.dtype)
        weights = counts if cfg.federation.aggregation == "weighted" else torch.ones_like(counts)
        total += sum_global_updates(item_global, update, weights)
        weight_sum += float(weights.sum())
        examples += int(counts.sum())
        loss_sum += float(update.loss.sum())
        epochs += int(update.epochs.sum())
    return NodeTrainResult(
        global_sum=total,
        weight_sum=weight_sum,
        num_users=len(users),
        num_examples=examples,
        num_dropped=dropped,
        loss_sum=loss_sum,
        epochs_sum=epochs,
        train_seconds=time.perf_counter() - start,
    )


def evaluate_node(
    split: SplitData,
    users: IntArray,
    store: ClientStateStore,
    item_global: torch.Tensor,
    size: int,
    score: str = "logit",
) -> dict[str, IntArray]:
    """Return per-user ranks (``RANK_KEYS``) of the held-out items, plus ``users``."""
    parts: dict[str, list[IntArray]] = {key: [] for key in RANK_KEYS}
    for cohort in cohorts(users, size):
        ranks = cohort_ranks(store.load(cohort), item_global, split, cohort, score)
        for key in RANK_KEYS:
            parts[key].append(ranks[key].numpy())
    out = {
        key: np.concatenate(parts[key]) if parts[key] else np.zeros(0, np.int64) for key in parts
    }
    out["users"] = users
    return out
