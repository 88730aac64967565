"""The autograd cohort trainer against the hand-written FedRAP kernel, on the affine head."""

import dataclasses

import numpy as np
import pytest
import torch

from fedrec.algorithms.additive.affine import train_model_cohort
from fedrec.algorithms.additive.trainer import train_cohort as train_generic
from fedrec.algorithms.fedrap import kernel as kernel_module
from fedrec.algorithms.fedrap.cohort import RoundSettings, train_cohort
from fedrec.algorithms.fedrap.samples import build_round_samples
from fedrec.config.model import ModelConfig
from fedrec.config.schema import FedRAPConfig
from fedrec.models import create_model
from fedrec.models.fedrap import initial_state
from fedrec.models.params import model_layout
from fedrec.state.private import TouchedState
from tests.factories import tiny_split


def _states(init, samples):
    n_users = len(samples.users)
    weight = init.head_weight.expand(n_users, -1).clone()
    bias = init.head_bias.expand(n_users).clone()
    kernel = TouchedState(init.item_local[samples.row_item].clone(), weight, bias)
    flat = torch.cat([weight, bias.unsqueeze(1)], dim=1)  # the affine layout: weight, bias
    generic = TouchedState(init.item_local[samples.row_item].clone(), flat, torch.zeros(n_users))
    return kernel, generic


@pytest.mark.parametrize("two_step", [False, True])
@pytest.mark.parametrize(
    ("batch_size", "tol", "regulariser", "variant", "prox", "local_lr_scale", "c_decay"),
    [
        (16, 1e-4, "l1", "full", 0.0, 1.0, "client"),  # several batches per epoch
        (4096, 0.05, "l2", "full", 0.0, 1.0, "client"),  # early stop fires
        (16, 1e-4, "l1", "global_only", 0.0, 1.0, "client"),
        (16, 1e-4, "l1", "local_only", 0.0, 1.0, "client"),
        (16, 1e-4, "l1", "full", 0.5, 1.0, "client"),  # FedProx's pull
        (16, 1e-4, "l1", "full", 0.5, 0.1, "client"),  # D slower than C
        (16, 1e-4, "l1", "full", 0.0, 1.0, "server"),  # C decayed by the server instead
    ],
)
def test_autograd_trainer_equals_the_hand_written_kernel(
    batch_size, tol, regulariser, variant, prox, local_lr_scale, c_decay, two_step
):
    # Prepare
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
    keys = (0, 2)
    samples = build_round_samples(split, np.arange(split.n_users), "strict", 4, keys)
    settings = RoundSettings(0.1, 0.1, 0.5, 2.0, keys=keys, proximal_mu=prox)
    kernel_state, generic_state = _states(init, samples)
    layout = model_layout(ModelConfig(name="affine"), cfg.dim, seed=0)
    module = create_model(ModelConfig(name="affine"), split.n_users, cfg.dim)
    # Execute
    expected = train_cohort(
        kernel_state, init.item_global, samples, cfg, settings, "eager", two_step
    )
    actual = train_generic(
        generic_state,
        (init.item_global, torch.zeros(0)),
        samples,
        cfg,
        settings,
        (module, layout),
        two_step,
    )
    # Assert
    tol_kw = {"atol": 1e-5, "rtol": 1e-5}
    torch.testing.assert_close(generic_state.local_rows, kernel_state.local_rows, **tol_kw)
    torch.testing.assert_close(
        generic_state.head_weight[:, :-1], kernel_state.head_weight, **tol_kw
    )
    torch.testing.assert_close(generic_state.head_weight[:, -1], kernel_state.head_bias, **tol_kw)
    torch.testing.assert_close(actual.cohort.global_rows, expected.global_rows, **tol_kw)
    torch.testing.assert_close(actual.cohort.untouched_scale, expected.untouched_scale)
    torch.testing.assert_close(actual.cohort.local_scale, expected.local_scale)
    torch.testing.assert_close(actual.cohort.loss, expected.loss, atol=1e-6, rtol=1e-5)
    assert torch.equal(actual.cohort.epochs, expected.epochs)
    if tol > 0.01:
        assert int(expected.epochs.min()) < cfg.local_epochs  # the early stop really fired


def test_one_mf_step_matches_the_hand_computed_update():
    # Prepare: one user, one positive item, no negatives, one step, no regularisers or decay
    split = tiny_split(n_users=1, min_train=1, max_train=1)
    cfg = dataclasses.replace(
        FedRAPConfig(), dim=2, local_epochs=1, weight_decay=0.0, lam=0.0, mu=0.0
    )
    samples = build_round_samples(split, np.arange(1), "strict", 0, (0, 1))
    model_cfg = ModelConfig(name="mf")
    layout = model_layout(model_cfg, 2, seed=0)
    user, user_bias = torch.tensor([0.5, -1.0]), torch.tensor(0.2)
    c = torch.tensor([[0.3, 0.1, -0.4]])  # item vector (2) and item bias
    d = torch.tensor([[-0.1, 0.2, 0.1]])
    state = TouchedState(d.clone(), torch.tensor([[0.5, -1.0, 0.2]]), torch.zeros(1))
    item_global = torch.zeros(split.n_items, 3)
    item_global[samples.row_item] = c
    settings = RoundSettings(0.0, 0.0, lr_head=0.5, lr_embedding=2.0, keys=(0, 1))
    module = create_model(model_cfg, 1, 2)
    # Execute
    result = train_generic(
        state, (item_global, torch.zeros(0)), samples, cfg, settings, (module, layout)
    )
    # Assert: logit z = p·q + b_u + b_i with q = c + d; dBCE/dz = σ(z) − 1
    e = (c + d)[0]
    g = torch.sigmoid(user @ e[:2] + user_bias + e[2]) - 1
    expected_user = user - 0.5 * g * e[:2]
    expected_bias = user_bias - 0.5 * g
    item_grad = torch.cat([user, torch.ones(1)]) * g
    torch.testing.assert_close(
        state.head_weight[0], torch.cat([expected_user, expected_bias.view(1)])
    )
    torch.testing.assert_close(state.local_rows[0], d[0] - 2.0 * item_grad)
    torch.testing.assert_close(result.cohort.global_rows[0], c[0] - 2.0 * item_grad)
    assert float(result.cohort.loss[0]) == pytest.approx(float(-torch.log(g + 1)), rel=1e-6)


@pytest.mark.parametrize("trainer", [train_generic, train_model_cohort])
def test_pfedrec_two_step_update_matches_the_hand_computed_one(trainer):
    # Prepare: one user, one positive, affine score function, item rows from C alone
    split = tiny_split(n_users=1, min_train=1, max_train=1)
    cfg = dataclasses.replace(
        FedRAPConfig(),
        dim=2,
        local_epochs=1,
        weight_decay=0.0,
        lam=0.0,
        mu=0.0,
        variant="global_only",
    )
    samples = build_round_samples(split, np.arange(1), "strict", 0, (0, 1))
    model_cfg = ModelConfig(name="affine")
    layout = model_layout(model_cfg, 2, seed=0)
    w, b, e = torch.tensor([0.5, -1.0]), torch.tensor(0.2), torch.tensor([0.3, -0.4])
    state = TouchedState(torch.zeros(1, 2), torch.tensor([[0.5, -1.0, 0.2]]), torch.zeros(1))
    item_global = torch.zeros(split.n_items, 2)
    item_global[samples.row_item] = e
    settings = RoundSettings(0.0, 0.0, lr_head=0.5, lr_embedding=3.0, keys=(0, 1))
    module = create_model(model_cfg, 1, 2)
    # Execute
    result = trainer(
        state, (item_global, torch.zeros(0)), samples, cfg, settings, (module, layout), True
    )
    # Assert: first the head with e fixed, then e under the new head
    g = torch.sigmoid(w @ e + b) - 1
    w1, b1 = w - 0.5 * g * e, b - 0.5 * g
    g1 = torch.sigmoid(w1 @ e + b1) - 1
    torch.testing.assert_close(state.head_weight[0], torch.cat([w1, b1.view(1)]))
    torch.testing.assert_close(result.cohort.global_rows[0], e - 3.0 * g1 * w1)
    assert float(result.cohort.loss[0]) == pytest.approx(float(-torch.log(g1 + 1)), rel=1e-6)


def test_compiled_two_step_equals_the_eager_one():
    # Prepare: PFedRec's setting (C only, no regularisers) with several batches per epoch
    split = tiny_split()
    cfg = dataclasses.replace(
        FedRAPConfig(), dim=8, batch_size=16, local_epochs=3, variant="global_only"
    )
    init = initial_state(split.n_items, cfg.dim, seed=3, variant="global_only")
    keys = (0, 2)
    samples = build_round_samples(split, np.arange(split.n_users), "strict", 4, keys)
    settings = RoundSettings(0.0, 0.0, 0.5, 2.0, keys=keys)
    eager_state, _ = _states(init, samples)
    compiled_state, _ = _states(init, samples)
    # Execute
    eager = train_cohort(eager_state, init.item_global, samples, cfg, settings, "eager", True)
    compiled = train_cohort(
        compiled_state, init.item_global, samples, cfg, settings, "compiled", True
    )
    # Assert
    torch.testing.assert_close(compiled.global_rows, eager.global_rows, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(compiled_state.head_weight, eager_state.head_weight)
    torch.testing.assert_close(compiled.loss, eager.loss, atol=1e-6, rtol=1e-5)
    assert not kernel_module._Compiled.failed  # it really ran compiled
