"""The local-epoch loop every vectorised cohort trainer shares: batches, masks and early stop.

A cohort trainer supplies one SGD step of all active users on their current batch; this module
drives it through ``cfg.local_epochs`` epochs exactly as the reference's per-user loop does:
per-user batch slots, per-user step counts (for the learning-rate decay), the running mean loss
and the relative-change early stop, all as masks over users.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from fedrec.algorithms.fedrap.samples import RoundSamples, batch_index
from fedrec.config.schema import FedRAPConfig

#: ``step(hits, pos, counts, active, steps, (scale, local_scale)) -> per-user losses``: update the
#: trainer's tensors in place, and the two untouched-row factors.
CohortStep = Callable[
    [
        torch.Tensor,
        torch.Tensor,
        torch.Tensor,
        torch.Tensor,
        torch.Tensor,
        tuple[torch.Tensor, torch.Tensor],
    ],
    torch.Tensor,
]


@dataclass(frozen=True)
class EpochResult:
    """What the epoch loop reports per user besides the trainer's own tensors."""

    untouched_scale: torch.Tensor  # factor on the C rows the user never touched
    local_scale: torch.Tensor  # factor on the D rows the user never touched
    loss: torch.Tensor  # running mean loss at the stop, as the reference reports it
    epochs: torch.Tensor  # epochs run before the early stop


@dataclass(frozen=True)
class BatchCounts:
    """For one epoch, per row and batch slot: the row's occurrences and positives in the batch.

    All samples of one (user, item) row share its score, so a step works on rows: a row enters
    with how often it occurs in the batch (``hits``) and how many of those are positives.
    """

    hits: torch.Tensor  # (R, S)
    pos: torch.Tensor  # (R, S)
    sizes: torch.Tensor  # (U, S) batch sizes

    @classmethod
    def of(cls, s: RoundSamples, batch: torch.Tensor, n_slots: int) -> BatchCounts:
        """Count every row's occurrences and positives per batch slot of one epoch."""
        key = s.sample_row * n_slots + batch
        size = len(s.row_user) * n_slots
        hits = torch.bincount(key, minlength=size).float().view(-1, n_slots)
        pos = torch.bincount(key, weights=s.label, minlength=size).float().view(-1, n_slots)
        sizes = torch.zeros(len(s.users), n_slots).index_add_(0, s.row_user, hits)
        return cls(hits, pos, sizes)

    def slot(
        self, slot: int, active: torch.Tensor, row_user: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return hits, positives (per row) and batch sizes (per user) of active users' batch."""
        on = active[row_user]
        return self.hits[:, slot] * on, self.pos[:, slot] * on, self.sizes[:, slot] * active


def run_epochs(
    samples: RoundSamples, cfg: FedRAPConfig, keys: tuple[int, int], step: CohortStep
) -> EpochResult:
    """Drive ``step`` through the local epochs of every user of the cohort.

    Parameters
    ----------
    samples : RoundSamples
        This round's training samples (rows sorted by user).
    cfg : FedRAPConfig
        ``local_epochs``, ``batch_size`` and the early stop's ``tol``.
    keys : tuple of int
        ``(seed, server_round)``: the batch shuffle's random stream.
    step : CohortStep
        One SGD step of the active users (see :data:`CohortStep`).

    Returns
    -------
    EpochResult
        Untouched-row factors, running mean losses and epoch counts, per user.
    """
    n_users = len(samples.users)
    alive = torch.ones(n_users, dtype=torch.bool)
    steps, scale, local_scale = torch.zeros(n_users), torch.ones(n_users), torch.ones(n_users)
    loss_sum = torch.zeros(n_users, dtype=torch.float64)
    seen = torch.zeros(n_users, dtype=torch.float64)
    previous = torch.zeros(n_users, dtype=torch.float64)
    epochs = torch.zeros(n_users, dtype=torch.int64)
    n_batches = (samples.user_count + cfg.batch_size - 1) // cfg.batch_size
    n_slots = int(n_batches.max())
    table: BatchCounts | None = None
    for epoch in range(cfg.local_epochs):
        if table is None or n_slots > 1:  # one batch per user: the same batches every epoch
            table = BatchCounts.of(
                samples, batch_index(samples, cfg.batch_size, keys, epoch), n_slots
            )
        for slot in range(int(torch.where(alive, n_batches, 0).max())):
            active = alive & (n_batches > slot)
            hits, pos, counts = table.slot(slot, active, samples.row_user)
            losses = step(hits, pos, counts, active, steps, (scale, local_scale))
            loss_sum += (losses * counts).double()
            seen += counts.double()
            steps += active.float()
        epochs += alive.long()
        running = loss_sum / seen.clamp(min=1)
        if epoch > 0:
            alive &= ~((running - previous).abs() / previous.abs() < cfg.tol)
        previous = running
        if not bool(alive.any()):
            break
    return EpochResult(scale, local_scale, loss_sum / seen.clamp(min=1), epochs)
