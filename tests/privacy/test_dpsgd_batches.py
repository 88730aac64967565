"""The batch plan is Opacus' own (rate, expected batch size), and the steps draw batches so."""

import numpy as np
import pytest
import torch
from opacus import PrivacyEngine
from torch.utils.data import DataLoader, TensorDataset

from fedrec.algorithms.fedrap.samples import build_round_samples
from fedrec.models.fedrap import AdditiveItemScorer
from fedrec.privacy.batches import BatchPlan, poisson_steps, shuffled_steps, step_schedule
from tests.factories import tiny_split


@pytest.mark.parametrize(("n", "batch_size"), [(5, 16), (16, 16), (17, 16), (100, 7), (2049, 2048)])
def test_plan_is_what_opacus_make_private_uses(n, batch_size):
    # Prepare
    data = TensorDataset(torch.zeros(n, dtype=torch.long), torch.zeros(n))
    model = AdditiveItemScorer(3, 2)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    # Execute
    _, optimizer, loader = PrivacyEngine().make_private(
        module=model,
        optimizer=sgd,
        data_loader=DataLoader(data, batch_size=batch_size),
        noise_multiplier=1.0,
        max_grad_norm=1.0,
    )
    plan = BatchPlan.of(torch.tensor([n]), batch_size)
    # Assert
    assert float(plan.sample_rate[0]) == loader.sample_rate
    assert float(plan.expected_batch[0]) == optimizer.expected_batch_size
    assert int(plan.n_batches[0]) == len(loader)


def _samples():
    split = tiny_split(n_users=6, min_train=10, max_train=30)
    return build_round_samples(split, np.arange(6), "strict", 4, (0, 1))


def test_shuffled_steps_use_every_sample_once_per_epoch():
    # Prepare
    samples = _samples()
    plan = BatchPlan.of(samples.user_count, 16)
    # Execute
    steps = list(shuffled_steps(samples, plan, 16, (0, 1), epochs=2))
    # Assert
    per_epoch = int(plan.n_batches.max())
    for epoch in range(2):
        used = torch.stack([s.batch for s in steps[epoch * per_epoch : (epoch + 1) * per_epoch]])
        assert bool((used.sum(0) == 1).all())


def test_poisson_steps_draw_each_sample_at_its_users_rate():
    # Prepare
    samples = _samples()
    plan = BatchPlan.of(samples.user_count, 16)
    gen = torch.Generator().manual_seed(0)
    # Execute
    steps = list(poisson_steps(samples, plan, 400, gen))
    # Assert: a sample is drawn in a share q of its user's steps.
    drawn = torch.stack([s.batch for s in steps]).float().sum(0)
    taken = torch.stack([s.active for s in steps]).float().sum(0)[samples.sample_user]
    rate = plan.sample_rate[samples.sample_user].float()
    share = drawn / taken
    assert float((share - rate).abs().max()) < 4 * float((rate * (1 - rate) / taken).sqrt().max())


def test_unknown_sampling_is_refused():
    samples = _samples()
    plan = BatchPlan.of(samples.user_count, 16)
    with pytest.raises(ValueError, match=r"unknown dpsgd\.sampling"):
        step_schedule("fixed", samples, plan, 16, (0, 1), 1, torch.Generator())  # type: ignore[arg-type]
