"""What a FedRAP client uploads after local training: its touched rows of C and one scale.

A user's local C after a round is ``s_u · G`` on the rows it did not touch and its trained
values on the rows it did (see :mod:`fedrec.aggregation.updates`). Before upload the client may
soft-threshold those rows (the client-side L1 proximal step: ``upload_threshold``, raised per
client to reach ``upload_density``), and a
model-poisoning client scales its update (:mod:`fedrec.attack.poison`). The node then either
sums the uploads (linear strategies) or forwards them per user (robust strategies).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from fedrec.aggregation.prox import per_user_thresholds, soft_threshold
from fedrec.aggregation.updates import UserUpdates
from fedrec.algorithms.base import TrainOptions
from fedrec.algorithms.fedrap.cohort import CohortUpdate
from fedrec.attack.poison import scale_updates
from fedrec.data.types import IntArray, SplitData


def client_uploads(
    update: CohortUpdate,
    item_global: torch.Tensor,
    users: IntArray,
    split: SplitData,
    options: TrainOptions,
    boost: float,
) -> CohortUpdate:
    """Return the cohort's update as its clients upload it (unchanged when nothing applies)."""
    values = update.global_rows.numpy()
    changed = False
    if options.upload_threshold > 0 or options.upload_density < 1:
        counts = np.bincount(update.row_user.numpy(), minlength=len(users))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        tau = per_user_thresholds(values, offsets, options.upload_threshold, options.upload_density)
        values, changed = soft_threshold(values, tau[:, None]), True
    fake = users >= split.n_users - split.n_fake
    if boost != 1.0 and fake.any():
        base = item_global[update.row_item].numpy()
        scales, values = scale_updates(
            users,
            split,
            boost,
            update.untouched_scale.numpy(),
            (update.row_user.numpy(), base, values),
        )
        update = dataclasses.replace(update, untouched_scale=torch.from_numpy(scales))
        changed = True
    if not changed:
        return update
    return dataclasses.replace(update, global_rows=torch.from_numpy(np.ascontiguousarray(values)))


def as_user_updates(update: CohortUpdate, weights: torch.Tensor) -> UserUpdates:
    """Return the cohort's uploads as ragged per-user updates (rows are grouped by user)."""
    counts = np.bincount(update.row_user.numpy(), minlength=len(weights))
    return UserUpdates(
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        rows=update.row_item.numpy().astype(np.int64),
        values=update.global_rows.numpy().astype(np.float32, copy=False),
        scales=update.untouched_scale.numpy().astype(np.float64),
        weights=weights.numpy().astype(np.float64),
    )
