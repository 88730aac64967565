"""A node's DP-SGD round for one cohort: dense state in, a normal ``CohortUpdate`` out.

Noise lands on every entry of D and C, so in this mode a user's D and C are dense: the cohort's
D is read whole from the store and written back whole, and every row of C is uploaded (the
upload is the dense, noisy C; sparsifying it afterwards would be post-processing). The node
calls :func:`train_private` where it would call the sparse trainer (see
:mod:`fedrec.algorithms.fedrap.node`), and strategies see an ordinary update.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from fedrec.algorithms.fedrap.cohort import CohortUpdate, RoundSettings
from fedrec.algorithms.fedrap.samples import RoundSamples
from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray, SplitData
from fedrec.privacy.batches import BatchPlan, step_schedule
from fedrec.privacy.dp_cohort import DenseCohort, NoiseSettings, train_dense_cohort
from fedrec.privacy.ledger import PrivacyLedger
from fedrec.rng import hash64
from fedrec.state.private import TouchedState
from fedrec.state.store import ClientStateStore

# Our own stream id for the noise generator's seed (rng.Stream's ids are small integers).
_NOISE_STREAM = 61
_FLOAT = 4


def private_cohort_size(split: SplitData, cfg: ExperimentConfig) -> int:
    """Return ``federation.cohort_size``, or the most users whose dense tables fit the budget.

    Per user a round holds D, C, one noisy-gradient buffer and the copy written to the store,
    each ``n_items × dim`` floats, plus a fifth for temporaries.
    """
    fed = cfg.federation
    if fed.cohort_size > 0:
        return fed.cohort_size
    per_user = 5 * split.n_items * cfg.fedrap.dim * _FLOAT
    return max(1, int(fed.cohort_memory_mb * 2**20 // per_user))


def noise_generator(seed: int, server_round: int, users: IntArray) -> torch.Generator:
    """Seed the cohort's noise from the run's seed, the round and the cohort's users.

    Simulation only: a deployment would draw noise from a cryptographically secure source.
    """
    key = hash64(seed, _NOISE_STREAM, server_round, users.min(), users.max(), len(users))
    return torch.Generator().manual_seed(int(key) >> 1)


def train_private(
    store: ClientStateStore,
    samples: RoundSamples,
    item_global: torch.Tensor,
    cfg: ExperimentConfig,
    settings: RoundSettings,
) -> CohortUpdate:
    """Train a cohort for one round with DP-SGD, store its state and record its steps."""
    users = samples.users
    n_users, (n_items, dim) = len(users), item_global.shape
    dense = store.load(users)
    tables = DenseCohort(
        item_local=dense.item_local.contiguous(),
        item_global=item_global.expand(n_users, -1, -1).clone(),
        head_weight=dense.head_weight,
        head_bias=dense.head_bias,
    )
    dp, fedrap = cfg.dpsgd, cfg.fedrap
    plan = BatchPlan.of(samples.user_count, fedrap.batch_size)
    generator = noise_generator(cfg.seed, settings.keys[1], users)
    steps = step_schedule(
        dp.sampling, samples, plan, fedrap.batch_size, settings.keys, fedrap.local_epochs, generator
    )
    noise = NoiseSettings(dp.noise_multiplier, dp.max_grad_norm, plan.expected_batch)
    item = samples.row_item[samples.sample_row]
    loss = train_dense_cohort(
        tables, samples.sample_user, item, samples.label, steps, fedrap, settings, noise, generator
    )
    row_user = torch.arange(n_users).repeat_interleave(n_items)
    row_item = torch.arange(n_items).repeat(n_users)
    local = TouchedState(tables.item_local.view(-1, dim), tables.head_weight, tables.head_bias)
    store.update(users, row_user.numpy(), row_item.numpy(), local, torch.ones(n_users))
    _ledger(store).record(
        users,
        (plan.n_batches * fedrap.local_epochs).numpy(),
        plan.sample_rate.numpy(),
        dp.noise_multiplier,
    )
    return CohortUpdate(
        row_user=row_user,
        row_item=row_item,
        global_rows=tables.item_global.view(-1, dim),
        untouched_scale=torch.ones(n_users),
        local_scale=torch.ones(n_users),
        loss=loss,
        epochs=torch.full((n_users,), fedrap.local_epochs, dtype=torch.int64),
    )


def _ledger(store: ClientStateStore) -> PrivacyLedger:
    return _open_ledger(str(store.folder), tuple(store.users.tolist()))


@lru_cache(maxsize=64)
def _open_ledger(folder: str, users: tuple[int, ...]) -> PrivacyLedger:
    """One ledger per node folder and process, like the store it sits beside."""
    return PrivacyLedger(Path(folder), np.asarray(users, dtype=np.int64))
