"""Which samples each DP-SGD step of a cohort sees, and how its gradient is normalised.

A user with ``n`` samples and batch size ``B`` runs ``k = ⌈n / B⌉`` steps per epoch, as Opacus'
``PrivacyEngine.make_private`` runs ``len(data_loader)``: its sampling rate is ``q = 1 / k`` and its
summed gradient is divided by the expected batch size ``int(n · q)``, Opacus' own formula. A step
is a boolean mask over the cohort's samples plus the users that step; users are independent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from fedrec.algorithms.fedrap.samples import RoundSamples, batch_index
from fedrec.config.dpsgd import BatchSampling


@dataclass(frozen=True)
class BatchPlan:
    """Per user: steps per epoch, sampling rate and the expected batch size Opacus divides by."""

    n_batches: torch.Tensor  # (U,) int64
    sample_rate: torch.Tensor  # (U,) float64
    expected_batch: torch.Tensor  # (U,) float32, whole numbers

    @classmethod
    def of(cls, user_count: torch.Tensor, batch_size: int) -> BatchPlan:
        """Plan the batches of users with ``user_count`` samples each."""
        n_batches = (user_count + batch_size - 1) // batch_size
        rate = 1.0 / n_batches.double()
        expected = torch.floor(user_count.double() * rate).float()
        return cls(n_batches=n_batches, sample_rate=rate, expected_batch=expected)


@dataclass(frozen=True)
class Step:
    """One DP-SGD step of a cohort: the samples in each stepping user's batch."""

    batch: torch.Tensor  # (S,) bool over the cohort's samples
    active: torch.Tensor  # (U,) bool: users that take this step (they get noise even if empty)


StepSchedule = Iterator[Step]


def poisson_steps(
    samples: RoundSamples, plan: BatchPlan, epochs: int, generator: torch.Generator
) -> StepSchedule:
    """Every step, each sample of an active user joins the batch with its user's rate ``q``."""
    rate = plan.sample_rate[samples.sample_user]
    for _ in range(epochs):
        for slot in range(int(plan.n_batches.max())):
            active = plan.n_batches > slot
            draw = torch.rand(len(rate), generator=generator, dtype=torch.float64)
            yield Step(batch=(draw < rate) & active[samples.sample_user], active=active)


def shuffled_steps(
    samples: RoundSamples, plan: BatchPlan, batch_size: int, keys: tuple[int, int], epochs: int
) -> StepSchedule:
    """Cut each epoch's per-user shuffle into ``⌈n / B⌉`` batches, as the reference does."""
    for epoch in range(epochs):
        batch = batch_index(samples, batch_size, keys, epoch)
        for slot in range(int(plan.n_batches.max())):
            active = plan.n_batches > slot
            yield Step(batch=batch == slot, active=active)


def step_schedule(
    sampling: BatchSampling,
    samples: RoundSamples,
    plan: BatchPlan,
    batch_size: int,
    keys: tuple[int, int],
    epochs: int,
    generator: torch.Generator,
) -> StepSchedule:
    """Return the steps of one round under ``sampling`` (``poisson`` or ``shuffle``)."""
    schedules: dict[str, Callable[[], StepSchedule]] = {
        "poisson": lambda: poisson_steps(samples, plan, epochs, generator),
        "shuffle": lambda: shuffled_steps(samples, plan, batch_size, keys, epochs),
    }
    if sampling not in schedules:
        raise ValueError(f"unknown dpsgd.sampling '{sampling}'; known: {sorted(schedules)}")
    return schedules[sampling]()
