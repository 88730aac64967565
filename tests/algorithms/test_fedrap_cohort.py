"""The vectorised cohort trainer against a plain per-user torch.optim loop."""

import dataclasses

import numpy as np
import pytest
import torch

from fedrec.algorithms.fedrap import kernel as kernel_module
from fedrec.algorithms.fedrap.cohort import RoundSettings, sum_global_updates, train_cohort
from fedrec.algorithms.fedrap.per_user import train_user
from fedrec.algorithms.fedrap.samples import batch_index, build_round_samples
from fedrec.config.schema import FedRAPConfig
from fedrec.models.fedrap import AdditiveItemScorer, initial_state
from fedrec.rng import Stream, uniform
from fedrec.state.private import TouchedState
from tests.factories import tiny_split

LAM, MU, LR_HEAD, LR_EMB = 0.1, 0.1, 0.5, 2.0


def _touched(init, samples):
    n_users = len(samples.users)
    return TouchedState(
        init.item_local[samples.row_item].clone(),
        init.head_weight.expand(n_users, -1).clone(),
        init.head_bias.expand(n_users).clone(),
    )


def _dense_local(init, samples, state, update, user):
    """The user's full D: untouched rows decayed by its scale, touched rows as trained."""
    dense = init.item_local * update.local_scale[user]
    mine = samples.row_user == user
    dense[samples.row_item[mine]] = state.local_rows[mine]
    return dense


def _per_user_model(init, n_items, dim):
    model = AdditiveItemScorer(n_items, dim)
    with torch.no_grad():
        model.item_local.weight.copy_(init.item_local)
        model.item_global.weight.copy_(init.item_global)
        model.head.weight.copy_(init.head_weight.view(1, -1))
        model.head.bias.copy_(init.head_bias)
    return model


@pytest.mark.parametrize(
    ("batch_size", "tol", "regulariser", "variant", "kernel", "local_lr_scale", "c_decay"),
    [
        (16, 1e-4, "l1", "full", "eager", 1.0, "client"),
        (4096, 0.05, "l2", "full", "eager", 1.0, "client"),
        (16, 1e-4, "l1", "global_only", "eager", 1.0, "client"),
        (16, 1e-4, "l1", "local_only", "eager", 1.0, "client"),
        (16, 1e-4, "l1", "full", "compiled", 1.0, "client"),  # the fused kernel large cohorts use
        (16, 1e-4, "l1", "full", "eager", 0.1, "client"),  # D slower than C
        (16, 1e-4, "l2", "full", "compiled", 3.0, "client"),  # D faster than C
        (16, 1e-4, "l1", "full", "eager", 1.0, "server"),  # C not decayed on the client
        (16, 1e-4, "l1", "full", "compiled", 0.1, "server"),
    ],
)
def test_cohort_training_equals_per_user_loop(
    batch_size, tol, regulariser, variant, kernel, local_lr_scale, c_decay
):
    # Prepare: users with several batches per epoch (first case) and early stopping (second).
    split = tiny_split()
    cfg = dataclasses.replace(
        FedRAPConfig(),
        dim=8,
        batch_size=batch_size,
        local_epochs=6,
        tol=tol,
        regulariser=regulariser,
        variant=variant,
        local_lr_scale=local_lr_scale,
        c_decay=c_decay,
    )
    init = initial_state(split.n_items, cfg.dim, seed=3, variant=variant)
    lam = LAM if variant == "full" else 0.0  # the ablations have no difference regulariser
    users = np.arange(split.n_users)
    keys = (0, 2)
    samples = build_round_samples(split, users, "strict", 4, keys)
    state = _touched(init, samples)
    settings = RoundSettings(lam=LAM, mu=MU, lr_head=LR_HEAD, lr_embedding=LR_EMB, keys=keys)
    batches = [batch_index(samples, cfg.batch_size, keys, e) for e in range(cfg.local_epochs)]
    # Execute
    update = train_cohort(state, init.item_global, samples, cfg, settings, kernel)
    expected_sum = torch.zeros_like(init.item_global)
    for u in range(len(users)):
        model = _per_user_model(init, split.n_items, cfg.dim)
        mask = samples.sample_user == u
        items = samples.row_item[samples.sample_row[mask]]
        loss, epochs = train_user(
            model,
            items,
            samples.label[mask],
            [b[mask] for b in batches],
            cfg,
            (lam, MU, LR_HEAD, LR_EMB),
        )
        # Assert: every private tensor, the loss and the epoch count match the plain loop.
        torch.testing.assert_close(
            _dense_local(init, samples, state, update, u),
            model.item_local.weight,
            atol=5e-6,
            rtol=1e-5,
        )
        torch.testing.assert_close(
            state.head_weight[u], model.head.weight.view(-1), atol=5e-6, rtol=1e-5
        )
        torch.testing.assert_close(
            state.head_bias[u], model.head.bias.view(()), atol=5e-6, rtol=1e-5
        )
        assert int(update.epochs[u]) == epochs
        assert float(update.loss[u]) == pytest.approx(loss, rel=1e-5)
        expected_sum += model.item_global.weight.detach()
    ones = torch.ones(len(users))
    torch.testing.assert_close(
        sum_global_updates(init.item_global, update, ones),
        expected_sum,
        atol=1e-4,
        rtol=1e-5,
    )
    if tol > 0.01:
        assert int(update.epochs.min()) < cfg.local_epochs  # the early stop really fired
    if c_decay == "server":  # untouched rows of C stay exactly G: the upload is its rows only
        assert bool((update.untouched_scale == 1).all())
    assert not kernel_module._Compiled.failed  # the compiled case really ran compiled


def test_user_result_does_not_depend_on_its_cohort():
    # Prepare
    split = tiny_split(n_users=10)
    cfg = dataclasses.replace(FedRAPConfig(), dim=4, local_epochs=3)
    init = initial_state(split.n_items, cfg.dim, seed=1)
    settings = RoundSettings(LAM, MU, LR_HEAD, LR_EMB, keys=(5, 1))

    def run(users, local_user):
        samples = build_round_samples(split, users, "legacy", 4, settings.keys)
        state = _touched(init, samples)
        update = train_cohort(state, init.item_global, samples, cfg, settings)
        return _dense_local(init, samples, state, update, local_user), state.head_weight[local_user]

    # Execute
    whole_local, whole_head = run(np.arange(10), 7)
    part_local, part_head = run(np.array([3, 7]), 1)
    # Assert
    torch.testing.assert_close(part_local, whole_local, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(part_head, whole_head, atol=1e-6, rtol=1e-6)


def test_local_training_lowers_the_loss_on_its_batch():
    # Prepare
    split = tiny_split(n_users=4)
    cfg = dataclasses.replace(FedRAPConfig(), dim=4, local_epochs=1)
    init = initial_state(split.n_items, cfg.dim, seed=0)
    users = np.arange(4)
    samples = build_round_samples(split, users, "strict", 4, (0, 1))
    settings = RoundSettings(0.0, 0.0, 0.1, 1.0, keys=(0, 1))
    state = _touched(init, samples)
    first = train_cohort(state, init.item_global, samples, cfg, settings)
    # Execute: a second pass over the same samples starts from the trained state.
    second = train_cohort(state, init.item_global, samples, cfg, settings)
    # Assert
    assert torch.all(second.loss < first.loss)


def test_batches_are_a_uniform_shuffle_within_each_user():
    # Prepare: users with several batches, and the lexsort the fast ordering must equal
    split = tiny_split(n_users=6, n_items=40, min_train=10, max_train=30)
    samples = build_round_samples(split, np.arange(6), "strict", 4, (0, 1))
    owner = samples.sample_user.numpy()
    noise = uniform(0, 1, Stream.SHUFFLE, 2, samples.users[owner], samples.sample_pos)

    # Execute
    batch = batch_index(samples, 16, (0, 1), epoch=2).numpy()

    # Assert: every user fills batches of 16 in the order of its samples' noise
    order = np.lexsort((noise, owner))
    first = np.searchsorted(owner, owner[order])
    expected = np.empty(len(order), dtype=np.int64)
    expected[order] = (np.arange(len(order)) - first) // 16
    np.testing.assert_array_equal(batch, expected)
