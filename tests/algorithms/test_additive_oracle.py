"""The autograd cohort trainer on neural base models against a per-user torch.optim loop."""

import dataclasses

import numpy as np
import pytest
import torch

from fedrec.algorithms.additive.trainer import train_cohort
from fedrec.algorithms.fedrap.cohort import RoundSettings
from fedrec.algorithms.fedrap.per_user import fedrap_loss
from fedrec.algorithms.fedrap.samples import batch_index, build_round_samples
from fedrec.config.model import ModelConfig
from fedrec.config.schema import FedRAPConfig
from fedrec.models import create_model, model_class
from fedrec.models.params import model_layout
from fedrec.state.private import TouchedState
from tests.factories import tiny_split

DIM, LAM, MU, LR_HEAD, LR_EMB = 4, 0.1, 0.1, 0.3, 1.5


def _oracle_user(module, local, glob, items, labels, batches, cfg):
    """One user, the reference way: parameters, one SGD optimiser, ExponentialLR per batch."""
    local, glob = local.clone().requires_grad_(), glob.clone().requires_grad_()
    groups = [{"params": list(module.parameters()), "lr": LR_HEAD}]
    if cfg.variant != "global_only":
        groups.append({"params": [local], "lr": LR_EMB})
    groups.append({"params": [glob], "lr": LR_EMB})
    optimizer = torch.optim.SGD(groups, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.batch_lr_decay)
    lam = LAM if cfg.variant == "full" else 0.0
    for epoch in range(cfg.local_epochs):
        for slot in range(int(batches[epoch].max()) + 1):
            mask = batches[epoch] == slot
            optimizer.zero_grad()
            d, c = local[items[mask]], glob[items[mask]]
            logits = module((d + c).unsqueeze(0)).squeeze(0)
            fedrap_loss(logits, labels[mask], d, c, lam, MU, "l1").backward()
            optimizer.step()
            scheduler.step()
    return local.detach(), glob.detach(), module


@pytest.mark.parametrize(
    ("name", "mlp", "variant"),
    [("ncf", "shared", "global_only"), ("neumf", "private", "full"), ("mf", "shared", "full")],
)
def test_trainer_equals_per_user_sgd_on_neural_models(name, mlp, variant):
    # Prepare: several batches per epoch, no early stop
    split = tiny_split(n_users=5)
    model_cfg = ModelConfig(name=name, mlp_layers=(6,), mlp=mlp)
    cfg = dataclasses.replace(
        FedRAPConfig(), dim=DIM, batch_size=12, local_epochs=3, tol=0.0, variant=variant
    )
    width = model_class(model_cfg).item_width(DIM, model_cfg)
    gen = torch.Generator().manual_seed(0)
    item_global, item_local = torch.randn(2, split.n_items, width, generator=gen)
    if variant == "global_only":
        item_local.zero_()
    keys = (0, 1)
    samples = build_round_samples(split, np.arange(5), "strict", 4, keys)
    layout = model_layout(model_cfg, DIM, seed=2)
    private = layout.initial_private.expand(5, -1).clone()
    state = TouchedState(item_local[samples.row_item].clone(), private, torch.zeros(5))
    settings = RoundSettings(LAM, MU, LR_HEAD, LR_EMB, keys)
    batches = [batch_index(samples, cfg.batch_size, keys, e) for e in range(cfg.local_epochs)]
    # Execute
    result = train_cohort(
        state,
        (item_global, layout.initial_shared),
        samples,
        cfg,
        settings,
        (create_model(model_cfg, 5, DIM), layout),
    )
    # Assert: every user against its own loop
    for u in range(5):
        module = create_model(model_cfg, 1, DIM)
        params = {
            **layout.private.unpack(private[u : u + 1]),
            **layout.shared.unpack(layout.initial_shared.unsqueeze(0)),
        }
        module.load_state_dict({k: v.clone() for k, v in params.items()})
        mask = samples.sample_user == u
        local, glob, module = _oracle_user(
            module,
            item_local,
            item_global,
            samples.row_item[samples.sample_row[mask]],
            samples.label[mask],
            [b[mask] for b in batches],
            cfg,
        )
        rows = samples.row_user == u
        mine = samples.row_item[rows]
        kw = {"atol": 2e-5, "rtol": 1e-4}
        torch.testing.assert_close(state.local_rows[rows], local[mine], **kw)
        torch.testing.assert_close(result.cohort.global_rows[rows], glob[mine], **kw)
        other = torch.ones(split.n_items, dtype=torch.bool)
        other[mine] = False  # rows the user never touched: only weight decay, one factor
        scale = result.cohort.untouched_scale[u]
        torch.testing.assert_close(glob[other], item_global[other] * scale, **kw)
        torch.testing.assert_close(local[other], item_local[other] * scale, **kw)
        trained = dict(module.named_parameters())
        got = {
            **layout.private.unpack(state.head_weight[u : u + 1]),
            **layout.shared.unpack(result.shared[u : u + 1]),
        }
        for key, value in got.items():
            torch.testing.assert_close(value, trained[key].detach(), **kw)
