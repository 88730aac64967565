"""What one Flower node does for FedRAP on a base model: train or evaluate its users.

The global arrays are C (``ITEM_GLOBAL``, ``(n_items, width)``) and, when the base model has
shared parameters (an aggregated MLP tower), their flat vector ``MODEL_SHARED``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from fedrec.aggregation.updates import UserUpdates
from fedrec.algorithms.additive.affine import train_model_cohort, trains_padded
from fedrec.algorithms.additive.trainer import ModelUpdate
from fedrec.algorithms.base import DEFAULT_OPTIONS, GlobalArrays, NodeUpdate, TrainOptions
from fedrec.algorithms.fedrap.cohort import RoundSettings, sum_global_updates
from fedrec.algorithms.fedrap.curriculum import round_learning_rates, round_weights
from fedrec.algorithms.fedrap.node import ITEM_GLOBAL
from fedrec.algorithms.fedrap.samples import build_round_samples
from fedrec.algorithms.fedrap.upload import as_user_updates, client_uploads
from fedrec.algorithms.participation import participants
from fedrec.algorithms.ranks import collect_ranks, rank_held_out
from fedrec.attack.exposure import target_ranks
from fedrec.attack.poison import boost_factor, target_item
from fedrec.config.model import ModelConfig
from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray, SplitData
from fedrec.models import create_model
from fedrec.models.base import BaseRecommender
from fedrec.models.params import ModelLayout
from fedrec.state.private import PrivateState
from fedrec.state.store import ClientStateStore
from fedrec.wire import TARGET_RANK

MODEL_SHARED = "model-shared"
#: A cohort's largest user has at most this many times its smallest user's samples: every user
#: is padded to the largest, so a wider spread computes mostly padding (FedNCF on ML-100K: 44-46 %
#: of the padded samples are real with the memory bound alone, 82-84 % with this one).
PAD_RATIO = 1.5
_FLOAT = 4


@dataclass(frozen=True)
class Recipe:
    """How local training and evaluation use the item table.

    Attributes
    ----------
    two_step : bool
        PFedRec's local update (model first with items fixed, then items).
    own_copy : bool
        D is the user's own trained copy of the item table (PFedRec's personalised item
        embedding): training starts from C alone, and scores use D alone.
    """

    two_step: bool = False
    own_copy: bool = False


@dataclass(frozen=True)
class NodeModel:
    """The base model's parameter layout and the recipe it is trained with."""

    layout: ModelLayout
    recipe: Recipe = field(default_factory=Recipe)


def model_cohorts(
    split: SplitData, users: IntArray, cfg: ExperimentConfig, width: int
) -> Iterator[IntArray]:
    """Group users by their number of local batches, then cut into cohorts whose block fits.

    Every step of a cohort computes all of its rows and pads every user to its largest user's
    rows, so users with the same number of batches and of similar size train together; users
    are independent, so the grouping changes no result.
    """
    rows = split.train_counts()[users] * (1 + cfg.fedrap.num_negatives)
    n_batches = -(-rows // cfg.fedrap.batch_size)
    per_row = _FLOAT * (10 * width + 4 * sum(cfg.model.mlp_layers) + 6 * cfg.fedrap.dim)
    budget = max(1, cfg.federation.cohort_memory_mb * 2**20 // per_row)
    limits = (budget, PAD_RATIO if trains_padded(cfg.model) else np.inf)
    for count in np.unique(n_batches):
        group = n_batches == count
        yield from _fitting(users[group], rows[group], limits, cfg.federation.cohort_size)


def _fitting(
    users: IntArray, rows: IntArray, limits: tuple[int, float], cap: int
) -> Iterator[IntArray]:
    """Cut users (sorted here by rows) into cohorts of at most ``budget`` padded rows.

    ``limits`` is ``(budget, spread)``: a cohort also stays within ``spread`` times its
    smallest user's rows.
    """
    budget, spread = limits
    order = np.argsort(rows, kind="stable")
    users, rows = users[order], rows[order]
    start = 0
    while start < len(users):
        # rows are ascending, so a cohort [start, stop) pads to rows[stop - 1]
        fits = (np.arange(start, len(users)) - start + 1) * rows[start:] <= budget
        fits &= rows[start:] <= spread * rows[start]
        stop = start + max(1, int(np.count_nonzero(fits)))
        if cap > 0:
            stop = min(stop, start + cap)
        yield np.sort(users[start:stop])
        start = stop


def round_settings(cfg: ExperimentConfig, server_round: int, proximal_mu: float) -> RoundSettings:
    """Return this round's λ, μ (curriculum) and learning rates."""
    lam, mu = round_weights(cfg.fedrap, server_round)
    lr_head, lr_emb = round_learning_rates(cfg.fedrap, server_round)
    return RoundSettings(lam, mu, lr_head, lr_emb, (cfg.seed, server_round), proximal_mu)


def train_node(
    split: SplitData,
    hosted: IntArray,
    store: ClientStateStore,
    arrays: GlobalArrays,
    cfg: ExperimentConfig,
    server_round: int,
    model: NodeModel,
    options: TrainOptions = DEFAULT_OPTIONS,
) -> NodeUpdate:
    """Train this round's participants among ``hosted``; return ``Σ_u w_u`` of C and the tower."""
    start = time.perf_counter()
    layout, recipe = model.layout, model.recipe
    if options.per_user and layout.shared.size:
        raise ValueError(
            "per-user aggregation rules handle one global matrix; use model.mlp=private "
            "or a linear strategy (fedavg, fedprox, fedavgm, fedadam, ...)"
        )
    item_global = arrays[ITEM_GLOBAL]
    shared = arrays.get(MODEL_SHARED, torch.zeros(0))
    users, dropped = participants(hosted, split.n_users, cfg, server_round)
    settings = round_settings(cfg, server_round, options.proximal_mu)
    boost = boost_factor(cfg.attack, split.n_users, split.n_fake)
    acc = _Totals(torch.zeros_like(item_global), torch.zeros_like(shared))
    for cohort in model_cohorts(split, users, cfg, item_global.shape[1]):
        samples = build_round_samples(
            split, cohort, cfg.protocol, cfg.fedrap.num_negatives, settings.keys
        )
        row_user, row_item = samples.row_user.numpy(), samples.row_item.numpy()
        state = store.touched(cohort, row_user, row_item)
        if recipe.own_copy:  # this round's copy starts from the server's C alone
            state.local_rows = torch.zeros_like(state.local_rows)
        module = create_model(cfg.model, len(cohort), cfg.fedrap.dim)
        result = train_model_cohort(
            state,
            (item_global, shared),
            samples,
            cfg.fedrap,
            settings,
            (module, layout),
            recipe.two_step,
            cfg.federation.kernel,
        )
        store.update(cohort, row_user, row_item, state, result.cohort.local_scale)
        if recipe.own_copy:
            store.replace_local(cohort, own_copies(item_global, result))
        upload = client_uploads(result.cohort, item_global, cohort, split, options, boost)
        result = ModelUpdate(upload, result.shared)
        counts = samples.user_count.to(item_global.dtype)
        weights = counts if cfg.federation.aggregation == "weighted" else torch.ones_like(counts)
        acc.add(item_global, result, weights, counts, options.per_user)
    return NodeUpdate(
        sums={ITEM_GLOBAL: acc.items, **({MODEL_SHARED: acc.shared} if layout.shared.size else {})},
        weight_sum=acc.weight_sum,
        num_users=len(users),
        num_examples=acc.examples,
        num_dropped=dropped,
        loss_sum=acc.loss_sum,
        epochs_sum=acc.epochs,
        train_seconds=time.perf_counter() - start,
        users=UserUpdates.concat(acc.per_user, item_global.shape[1]) if options.per_user else None,
        upload_bytes=acc.upload_bytes,
    )


def own_copies(item_global: torch.Tensor, result: ModelUpdate) -> torch.Tensor:
    """Return every user's trained copy of C, ``(U, n_items, width)``."""
    update = result.cohort
    scale = update.untouched_scale.to(item_global.dtype)
    dense = item_global.unsqueeze(0) * scale[:, None, None]
    dense[update.row_user, update.row_item] = update.global_rows
    return dense


class _Totals:
    """What a node sums over its cohorts."""

    def __init__(self, items: torch.Tensor, shared: torch.Tensor) -> None:
        self.items, self.shared = items, shared
        self.weight_sum = self.loss_sum = 0.0
        self.examples = self.epochs = self.upload_bytes = 0
        self.per_user: list[UserUpdates] = []

    def add(
        self,
        item_global: torch.Tensor,
        result: ModelUpdate,
        weights: torch.Tensor,
        counts: torch.Tensor,
        per_user: bool,
    ) -> None:
        update = result.cohort
        self.items += sum_global_updates(item_global, update, weights)
        self.shared += (weights.unsqueeze(1) * result.shared).sum(0)
        uploads = as_user_updates(update, weights)
        shared_bytes = result.shared.shape[1] * _FLOAT * len(weights)
        self.upload_bytes += int(uploads.upload_nbytes().sum()) + shared_bytes
        if per_user:
            self.per_user.append(uploads)
        self.weight_sum += float(weights.sum())
        self.examples += int(counts.sum())
        self.loss_sum += float(update.loss.sum())
        self.epochs += int(update.epochs.sum())


def evaluate_node(
    split: SplitData,
    users: IntArray,
    store: ClientStateStore,
    arrays: GlobalArrays,
    cfg: ExperimentConfig,
    model: NodeModel,
) -> dict[str, IntArray]:
    """Return per-user ranks of the held-out items (``RANK_KEYS``), plus ``users``."""
    layout = model.layout
    item_global = arrays[ITEM_GLOBAL]
    shared = arrays.get(MODEL_SHARED, torch.zeros(0))
    width = item_global.shape[1]
    per_user = (
        split.n_items * _FLOAT * (4 * width + 3 * sum(cfg.model.mlp_layers) + 4 * cfg.fedrap.dim)
    )
    size = max(1, cfg.federation.cohort_memory_mb * 2**20 // per_user)
    target = target_item(split, cfg.attack, cfg.seed) if cfg.attack.kind != "none" else -1

    @torch.no_grad()
    def rank(cohort: IntArray) -> dict[str, torch.Tensor]:
        private = store.load(cohort)
        items = _scored_items(private, item_global, model.recipe.own_copy)
        scores = cohort_logits(cfg, layout, items, private.head_weight, shared)
        if cfg.eval.score == "probability":
            scores = torch.sigmoid(scores)
        ranks = rank_held_out(scores, split, cohort)
        if target >= 0:
            ranks[TARGET_RANK] = target_ranks(scores, split, cohort, target)
        return ranks

    return collect_ranks(users, size, rank)


def _scored_items(private: PrivateState, item_global: torch.Tensor, own_copy: bool) -> torch.Tensor:
    """Return each user's item table: its own copy, C + D, or C alone when there is no D."""
    if own_copy:
        return private.item_local
    if private.has_local:
        return private.item_local + item_global
    return item_global.expand(len(private.item_local), -1, -1)  # no zero block to add


def cohort_logits(
    cfg: ExperimentConfig,
    layout: ModelLayout,
    items: torch.Tensor,
    private: torch.Tensor,
    shared: torch.Tensor,
) -> torch.Tensor:
    """Return ``(B, L)`` logits of ``B`` models (users or samples) on their items ``(B, L, w)``."""
    module = _template(cfg.model, len(items), cfg.fedrap.dim)
    params = {
        **layout.private.unpack(private),
        **layout.shared.unpack(shared.expand(len(items), -1)),
    }
    logits: torch.Tensor = torch.func.functional_call(module, params, (items,))
    return logits


@lru_cache(maxsize=4)
def _template(cfg: ModelConfig, n_models: int, dim: int) -> BaseRecommender:
    """Return a model to call with other parameters: building one per call drew new weights.

    The centralised reference scores every mini-batch through :func:`cohort_logits`, and
    initialising a throwaway model per batch cost about a tenth of its round.
    """
    return create_model(cfg, n_models, dim)
