"""What one Flower node does for FedRAP: train or evaluate the users it hosts, in cohorts.

The global array is C, named ``ITEM_GLOBAL``.

Framework-agnostic (numpy and torch only); ``clients/`` wraps it in Flower messages. A simulated
node hosts a fixed slice of the users; a real device hosts exactly one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from fedrec.aggregation.updates import UserUpdates
from fedrec.algorithms.base import DEFAULT_OPTIONS, NodeUpdate, TrainOptions
from fedrec.algorithms.fedrap.cohort import (
    CohortUpdate,
    RoundSettings,
    sum_global_updates,
    train_cohort,
)
from fedrec.algorithms.fedrap.curriculum import round_learning_rates, round_weights
from fedrec.algorithms.fedrap.evaluate import cohort_scores
from fedrec.algorithms.fedrap.protect import protect_uploads
from fedrec.algorithms.fedrap.samples import RoundSamples, build_round_samples
from fedrec.algorithms.fedrap.upload import as_user_updates, client_uploads
from fedrec.algorithms.participation import cohorts, participants
from fedrec.algorithms.ranks import collect_ranks, rank_held_out
from fedrec.attack.exposure import target_ranks
from fedrec.attack.poison import boost_factor, target_item
from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray, SplitData
from fedrec.privacy.local import private_cohort_size, train_private
from fedrec.state.budget import cohort_size
from fedrec.state.store import ClientStateStore
from fedrec.wire import TARGET_RANK

ITEM_GLOBAL = "item-global"

CohortTrainer = Callable[
    [ClientStateStore, RoundSamples, torch.Tensor, ExperimentConfig, RoundSettings], CohortUpdate
]


@dataclass(frozen=True)
class LocalTraining:
    """How a node trains a cohort: the trainer, and how many users a cohort may hold."""

    train: CohortTrainer
    cohort_size: Callable[[SplitData, ExperimentConfig], int]


def train_touched(
    store: ClientStateStore,
    samples: RoundSamples,
    item_global: torch.Tensor,
    cfg: ExperimentConfig,
    settings: RoundSettings,
) -> CohortUpdate:
    """Train a cohort on the rows it touches only (the fast, exact path), and store it."""
    row_user, row_item = samples.row_user.numpy(), samples.row_item.numpy()
    state = store.touched(samples.users, row_user, row_item)
    update = train_cohort(state, item_global, samples, cfg.fedrap, settings, cfg.federation.kernel)
    store.update(samples.users, row_user, row_item, state, update.local_scale)
    return update


SPARSE = LocalTraining(train_touched, cohort_size)
#: Record-level DP-SGD (:mod:`fedrec.privacy`): dense D and C, noise on every entry.
PRIVATE = LocalTraining(train_private, private_cohort_size)


def local_training(cfg: ExperimentConfig) -> LocalTraining:
    """Return DP-SGD training when ``dpsgd.enabled``, else the sparse trainer."""
    return PRIVATE if cfg.dpsgd.enabled else SPARSE


def training_cohorts(
    split: SplitData, users: IntArray, cfg: ExperimentConfig, size: int
) -> Iterator[IntArray]:
    """Group users by their number of local batches per epoch, then cut into cohorts.

    A step processes every row of its cohort, so a cohort where most users have one batch and
    a few have two would pay a full step for those few; users are independent, so grouping them
    changes no result.
    """
    samples = split.train_counts()[users] * (1 + cfg.fedrap.num_negatives)
    n_batches = -(-samples // cfg.fedrap.batch_size)
    for count in np.unique(n_batches):
        yield from cohorts(users[n_batches == count], size)


def train_node(
    split: SplitData,
    hosted: IntArray,
    store: ClientStateStore,
    item_global: torch.Tensor,
    cfg: ExperimentConfig,
    server_round: int,
    options: TrainOptions = DEFAULT_OPTIONS,
) -> NodeUpdate:
    """Train this round's participants among ``hosted`` and return their contribution.

    The contribution is ``Σ_u w_u C_u`` over the participants' uploads (see
    :mod:`fedrec.algorithms.fedrap.upload`), each upload's size, and with
    ``options.per_user`` the uploads themselves.
    """
    start = time.perf_counter()
    users, dropped = participants(hosted, split.n_users, cfg, server_round)
    lam, mu = round_weights(cfg.fedrap, server_round)
    lr_head, lr_emb = round_learning_rates(cfg.fedrap, server_round)
    keys = (cfg.seed, server_round)
    settings = RoundSettings(
        lam=lam,
        mu=mu,
        lr_head=lr_head,
        lr_embedding=lr_emb,
        keys=keys,
        proximal_mu=options.proximal_mu,
    )
    total = torch.zeros_like(item_global)
    weight_sum = loss_sum = 0.0
    examples = epochs = upload_bytes = 0
    per_user: list[UserUpdates] = []
    ids: list[IntArray] = []
    boost = boost_factor(cfg.attack, split.n_users, split.n_fake)
    fed, local = cfg.federation, local_training(cfg)
    for cohort in training_cohorts(split, users, cfg, local.cohort_size(split, cfg)):
        samples = build_round_samples(split, cohort, cfg.protocol, cfg.fedrap.num_negatives, keys)
        update = local.train(store, samples, item_global, cfg, settings)
        update = client_uploads(update, item_global, cohort, split, options, boost)
        update = protect_uploads(update, item_global, cohort, split, cfg.leakage, options, keys)
        counts = samples.user_count.to(item_global.dtype)
        weights = counts if fed.aggregation == "weighted" else torch.ones_like(counts)
        total += sum_global_updates(item_global, update, weights)
        uploads = as_user_updates(update, weights)
        upload_bytes += int(uploads.upload_nbytes().sum())
        if options.per_user:
            per_user.append(uploads)
            ids.append(cohort)
        weight_sum += float(weights.sum())
        examples += int(counts.sum())
        loss_sum += float(update.loss.sum())
        epochs += int(update.epochs.sum())
    return NodeUpdate(
        sums={ITEM_GLOBAL: total},
        weight_sum=weight_sum,
        num_users=len(users),
        num_examples=examples,
        num_dropped=dropped,
        loss_sum=loss_sum,
        epochs_sum=epochs,
        train_seconds=time.perf_counter() - start,
        users=UserUpdates.concat(per_user, item_global.shape[1]) if options.per_user else None,
        upload_bytes=upload_bytes,
        user_ids=np.concatenate(ids) if options.record_users and ids else None,
    )


def evaluate_node(
    split: SplitData,
    users: IntArray,
    store: ClientStateStore,
    item_global: torch.Tensor,
    cfg: ExperimentConfig,
) -> dict[str, IntArray]:
    """Return per-user ranks of the held-out items (``RANK_KEYS``), plus ``users``.

    Under an attack setting (``attack.kind`` not ``none``) also the rank of the target item
    among each user's unseen items (``TARGET_RANK``), from which the server computes exposure.
    """
    target = target_item(split, cfg.attack, cfg.seed) if cfg.attack.kind != "none" else -1

    @torch.no_grad()
    def rank(cohort: IntArray) -> dict[str, torch.Tensor]:
        scores = cohort_scores(store.load(cohort), item_global, cfg.eval.score)
        ranks = rank_held_out(scores, split, cohort)
        if target >= 0:
            ranks[TARGET_RANK] = target_ranks(scores, split, cohort, target)
        return ranks

    return collect_ranks(users, cohort_size(split, cfg), rank)
