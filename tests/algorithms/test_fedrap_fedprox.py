"""FedProx's proximal term in the cohort trainer against a per-user autograd loop."""

import dataclasses

import numpy as np
import torch

from fedrec.algorithms.fedrap.cohort import RoundSettings, train_cohort
from fedrec.algorithms.fedrap.per_user import fedrap_loss
from fedrec.algorithms.fedrap.samples import batch_index, build_round_samples
from fedrec.config.schema import FedRAPConfig
from fedrec.models.fedrap import initial_state
from tests.algorithms.test_fedrap_cohort import _per_user_model, _touched
from tests.factories import tiny_split

LAM, MU, LR_HEAD, LR_EMB, PROX = 0.1, 0.1, 0.5, 2.0, 0.05


def _train_user_with_prox(model, items, labels, batches, cfg, anchor):
    """``per_user.train_user`` plus ``μ/2‖C − G‖²`` in the loss that is differentiated."""
    groups = [
        {"params": list(model.head.parameters()), "lr": LR_HEAD},
        {"params": list(model.item_local.parameters()), "lr": LR_EMB},
        {"params": list(model.item_global.parameters()), "lr": LR_EMB},
    ]
    optimizer = torch.optim.SGD(groups, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.batch_lr_decay)
    for epoch in range(cfg.local_epochs):
        for slot in range(int(batches[epoch].max()) + 1):
            mask = batches[epoch] == slot
            optimizer.zero_grad()
            logits, local_rows, global_rows = model(items[mask])
            loss = fedrap_loss(logits, labels[mask], local_rows, global_rows, LAM, MU, "l1")
            prox = 0.5 * PROX * ((model.item_global.weight - anchor) ** 2).sum()
            (loss + prox).backward()
            optimizer.step()
            scheduler.step()


def test_cohort_fedprox_equals_a_per_user_loop_with_the_proximal_term():
    # Prepare: no early stop (tol = 0), several batches per epoch.
    split = tiny_split(n_users=6)
    cfg = dataclasses.replace(FedRAPConfig(), dim=4, batch_size=16, local_epochs=3, tol=0.0)
    init = initial_state(split.n_items, cfg.dim, seed=2)
    keys = (0, 3)
    samples = build_round_samples(split, np.arange(6), "strict", 4, keys)
    settings = RoundSettings(LAM, MU, LR_HEAD, LR_EMB, keys=keys, proximal_mu=PROX)
    batches = [batch_index(samples, cfg.batch_size, keys, e) for e in range(cfg.local_epochs)]
    # Execute
    state = _touched(init, samples)
    update = train_cohort(state, init.item_global, samples, cfg, settings)
    # Assert: every user's full C and D (scale × start off its rows, trained rows on them)
    # match; the proximal pull moves C's untouched rows, never D's.
    for u in range(6):
        model = _per_user_model(init, split.n_items, cfg.dim)
        mask = samples.sample_user == u
        items = samples.row_item[samples.sample_row[mask]]
        _train_user_with_prox(
            model, items, samples.label[mask], [b[mask] for b in batches], cfg, init.item_global
        )
        mine = samples.row_user == u
        dense = init.item_global * update.untouched_scale[u]
        dense[samples.row_item[mine]] = update.global_rows[mine]
        torch.testing.assert_close(dense, model.item_global.weight.detach(), atol=5e-6, rtol=1e-5)
        local = init.item_local * update.local_scale[u]
        local[samples.row_item[mine]] = state.local_rows[mine]
        torch.testing.assert_close(local, model.item_local.weight.detach(), atol=5e-6, rtol=1e-5)
