"""The vectorised DP-SGD cohort trainer against Opacus on each user's own model."""

import dataclasses

import numpy as np
import pytest
import torch

from fedrec.algorithms.fedrap.cohort import RoundSettings
from fedrec.algorithms.fedrap.samples import build_round_samples
from fedrec.config.schema import FedRAPConfig
from fedrec.models.fedrap import AdditiveItemScorer, initial_state
from fedrec.privacy.batches import BatchPlan, poisson_steps, shuffled_steps
from fedrec.privacy.dp_cohort import DenseCohort, NoiseSettings, train_dense_cohort
from fedrec.privacy.grads import SampleRows, sample_gradients
from fedrec.privacy.opacus_user import train_user_opacus
from tests.factories import tiny_split

LAM, MU, LR_HEAD, LR_EMB = 0.1, 0.1, 0.5, 2.0
KEYS = (0, 2)


def _cohort(init, n_users):
    return DenseCohort(
        item_local=init.item_local.expand(n_users, -1, -1).clone(),
        item_global=init.item_global.expand(n_users, -1, -1).clone(),
        head_weight=init.head_weight.expand(n_users, -1).clone(),
        head_bias=init.head_bias.expand(n_users).clone(),
    )


def _model(init):
    n_items, dim = init.item_local.shape
    model = AdditiveItemScorer(n_items, dim)
    with torch.no_grad():
        model.item_local.weight.copy_(init.item_local)
        model.item_global.weight.copy_(init.item_global)
        model.head.weight.copy_(init.head_weight.view(1, -1))
        model.head.bias.copy_(init.head_bias)
    return model


class _Round:
    """One round's data, batch plan and steps, shared by both trainers."""

    def __init__(self, split, cfg, sampling, variant="full", seed=0):
        self.cfg, self.split = cfg, split
        self.init = initial_state(split.n_items, cfg.dim, seed=3, variant=variant)
        self.samples = build_round_samples(split, np.arange(split.n_users), "strict", 4, KEYS)
        self.item = self.samples.row_item[self.samples.sample_row]
        self.plan = BatchPlan.of(self.samples.user_count, cfg.batch_size)
        epochs = cfg.local_epochs
        if sampling == "poisson":
            gen = torch.Generator().manual_seed(seed)
            self.steps = list(poisson_steps(self.samples, self.plan, epochs, gen))
        else:
            self.steps = list(shuffled_steps(self.samples, self.plan, cfg.batch_size, KEYS, epochs))
        self.lam = LAM if variant == "full" else 0.0
        self.settings = RoundSettings(self.lam, MU, LR_HEAD, LR_EMB, KEYS)

    def vectorised(self, sigma, bound, seed=0):
        tables = _cohort(self.init, self.split.n_users)
        noise = NoiseSettings(sigma, bound, self.plan.expected_batch)
        s = self.samples
        gen = torch.Generator().manual_seed(seed)
        loss = train_dense_cohort(
            tables, s.sample_user, self.item, s.label, iter(self.steps), self.cfg,
            self.settings, noise, gen,
        )  # fmt: skip
        return tables, loss

    def opacus(self, user, sigma, bound, seed=0):
        model = _model(self.init)
        mine = self.samples.sample_user == user
        masks = [step.batch[mine] for step in self.steps if bool(step.active[user])]
        expected = int(self.plan.expected_batch[user])
        weights = (self.lam, MU, LR_HEAD, LR_EMB)
        gen = torch.Generator().manual_seed(seed)
        loss = train_user_opacus(
            model, self.item[mine], self.samples.label[mine], masks, self.cfg, weights,
            (sigma, bound, expected), gen,
        )  # fmt: skip
        return model, loss


@pytest.mark.parametrize(
    ("sampling", "regulariser", "variant", "batch_size"),
    [
        ("poisson", "l1", "full", 16),
        ("shuffle", "l1", "full", 16),
        ("poisson", "l2", "full", 4096),
        ("shuffle", "l1", "global_only", 16),
        ("poisson", "l1", "local_only", 16),
    ],
)
def test_vectorised_dpsgd_equals_opacus_without_noise(sampling, regulariser, variant, batch_size):
    # Prepare: a small bound, so that clipping binds on most samples.
    cfg = FedRAPConfig(
        dim=8, batch_size=batch_size, local_epochs=3, regulariser=regulariser, variant=variant
    )
    rnd = _Round(tiny_split(), cfg, sampling, variant)
    bound = 0.05
    t, user = _cohort(rnd.init, rnd.split.n_users), rnd.samples.sample_user
    rows = SampleRows(
        t.item_local[user, rnd.item], t.item_global[user, rnd.item], t.head_weight[user],
        t.head_bias[user], rnd.samples.label,
    )  # fmt: skip
    first = sample_gradients(rows, cfg, rnd.lam, MU)
    assert float((first.norms() > bound).float().mean()) > 0.9
    # Execute
    tables, loss = rnd.vectorised(0.0, bound)
    # Assert: every user's D, C and head are what Opacus trains on its own model.
    for user in range(rnd.split.n_users):
        model, user_loss = rnd.opacus(user, 0.0, bound)
        torch.testing.assert_close(
            tables.item_local[user], model.item_local.weight, atol=1e-5, rtol=1e-5
        )
        torch.testing.assert_close(
            tables.item_global[user], model.item_global.weight, atol=1e-5, rtol=1e-5
        )
        torch.testing.assert_close(
            tables.head_weight[user], model.head.weight.view(-1), atol=1e-5, rtol=1e-5
        )
        torch.testing.assert_close(tables.head_bias[user], model.head.bias[0], atol=1e-5, rtol=1e-5)
        assert float(loss[user]) == pytest.approx(user_loss, rel=1e-4)


def test_noise_std_is_sigma_times_bound_over_batch_times_lr_on_every_entry():
    # Prepare: one step per user (one batch, one epoch), the same batch with and without noise.
    cfg = FedRAPConfig(dim=8, batch_size=4096, local_epochs=1)
    rnd = _Round(tiny_split(n_users=6, n_items=200), cfg, "shuffle")
    sigma, bound = 1.5, 0.2
    # Execute
    noisy, _ = rnd.vectorised(sigma, bound, seed=1)
    clean, _ = rnd.vectorised(0.0, bound)
    # Assert: per user, (noisy − clean) = −lr · N(0, σ²S²) / expected batch, on all rows.
    for user in range(rnd.split.n_users):
        want = sigma * bound * LR_EMB / float(rnd.plan.expected_batch[user])
        for view in ("item_local", "item_global"):
            diff = getattr(noisy, view)[user] - getattr(clean, view)[user]
            assert float(diff.std()) == pytest.approx(want, rel=0.08)
            assert abs(float(diff.mean())) < 4 * want / diff.numel() ** 0.5
        untouched = torch.ones(rnd.split.n_items, dtype=torch.bool)
        untouched[rnd.item[rnd.samples.sample_user == user]] = False
        rows = (noisy.item_global[user] - clean.item_global[user])[untouched]
        assert float(rows.std()) == pytest.approx(want, rel=0.1)


def test_opacus_noise_has_the_same_statistics_as_the_vectorised_path_over_several_steps():
    # Prepare: one user, a large catalogue, three steps; Opacus draws noise on every row every
    # step, the cohort path once per round on the rows no sample touched.
    cfg = FedRAPConfig(dim=8, batch_size=4096, local_epochs=3)
    rnd = _Round(tiny_split(n_users=2, n_items=600), cfg, "shuffle")
    sigma, bound = 1.0, 0.1
    expected = float(rnd.plan.expected_batch[0])
    keep = [1 - LR_EMB * cfg.batch_lr_decay**t * cfg.weight_decay for t in range(3)]
    rate = [LR_EMB * cfg.batch_lr_decay**t / expected for t in range(3)]
    variance = sum((rate[t] * np.prod(keep[t + 1 :])) ** 2 for t in range(3))
    want = sigma * bound * variance**0.5
    untouched = torch.ones(rnd.split.n_items, dtype=torch.bool)
    untouched[rnd.item[rnd.samples.sample_user == 0]] = False
    # Execute
    noisy, _ = rnd.opacus(0, sigma, bound, seed=4)
    clean, _ = rnd.opacus(0, 0.0, bound)
    vec_noisy, _ = rnd.vectorised(sigma, bound, seed=4)
    vec_clean, _ = rnd.vectorised(0.0, bound)
    # Assert: the same spread on every untouched entry of C and D, in both paths.
    with torch.no_grad():
        for view in ("item_global", "item_local"):
            theirs = getattr(noisy, view).weight - getattr(clean, view).weight
            ours = getattr(vec_noisy, view)[0] - getattr(vec_clean, view)[0]
            assert float(theirs[untouched].std()) == pytest.approx(want, rel=0.06)
            assert float(ours[untouched].std()) == pytest.approx(want, rel=0.06)
            assert abs(float(ours[untouched].mean())) < 4 * want / ours[untouched].numel() ** 0.5
    torch.testing.assert_close(
        vec_clean.item_global[0], clean.item_global.weight.detach(), atol=1e-5, rtol=1e-5
    )


def test_empty_poisson_batches_still_take_a_noisy_step_in_both_paths():
    # Prepare: a rate so low that some steps see no sample.
    cfg = FedRAPConfig(dim=4, batch_size=2, local_epochs=1)
    rnd = _Round(tiny_split(n_users=2, min_train=4, max_train=4), cfg, "poisson", seed=5)
    mine = rnd.samples.sample_user == 0
    assert any(not bool(step.batch[mine].any()) for step in rnd.steps if step.active[0])
    # Execute
    tables, _ = rnd.vectorised(0.0, 0.1)
    model, _ = rnd.opacus(0, 0.0, 0.1)
    # Assert: without noise an empty step only decays the weights, in both.
    torch.testing.assert_close(tables.item_local[0], model.item_local.weight, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(
        tables.head_weight[0], model.head.weight.view(-1), atol=1e-5, rtol=1e-5
    )


def test_proximal_term_is_refused():
    cfg = FedRAPConfig(dim=4, batch_size=16, local_epochs=1)
    rnd = _Round(tiny_split(n_users=2), cfg, "shuffle")
    rnd.settings = dataclasses.replace(rnd.settings, proximal_mu=0.1)
    with pytest.raises(ValueError, match="FedProx"):
        rnd.vectorised(0.0, 0.1)
