"""A node's DP-SGD rounds: dense state and uploads, layout-independent without noise, ledger."""

import dataclasses

import numpy as np
import torch

from fedrec.algorithms.fedrap.node import ITEM_GLOBAL, evaluate_node, train_node
from fedrec.algorithms.participation import hosted_users
from fedrec.config import load_config
from fedrec.models.fedrap import initial_state
from fedrec.privacy.ledger import read_ledgers
from fedrec.state.store import ClientStateStore
from tests.factories import tiny_split


def _federation(folder, split, cfg, num_nodes, rounds=2):
    init = initial_state(split.n_items, cfg.fedrap.dim, cfg.seed)
    stores = [
        ClientStateStore(folder / f"node-{p}", hosted_users(split.n_users, p, num_nodes), init)
        for p in range(num_nodes)
    ]
    item_global, updates = init.item_global, []
    for server_round in range(1, rounds + 1):
        updates = [train_node(split, s.users, s, item_global, cfg, server_round) for s in stores]
        total = sum(u.sums[ITEM_GLOBAL] for u in updates)
        item_global = total / sum(u.weight_sum for u in updates)
    ranks = [evaluate_node(split, s.users, s, item_global, cfg) for s in stores]
    return item_global, np.concatenate([r["test_full"] for r in ranks]), updates


def test_noiseless_dpsgd_is_the_same_for_any_nodes_and_cohorts_and_records_every_step(tmp_path):
    # Prepare: no noise and fixed batches, so nothing depends on how users are grouped.
    split = tiny_split(n_users=10)
    cfg = load_config(
        overrides=[
            "fedrap.dim=4",
            "fedrap.local_epochs=2",
            "fedrap.batch_size=16",
            "dpsgd.enabled=true",
            "dpsgd.noise_multiplier=0",
            "dpsgd.sampling=shuffle",
            "dpsgd.max_grad_norm=0.1",
        ]
    )
    small = dataclasses.replace(cfg, federation=dataclasses.replace(cfg.federation, cohort_size=3))
    # Execute
    c1, r1, up1 = _federation(tmp_path / "one", split, cfg, 1)
    c2, r2, _ = _federation(tmp_path / "two", split, small, 2)
    # Assert: the same model; every upload is dense; the ledger holds both rounds' steps.
    torch.testing.assert_close(c1, c2, atol=1e-5, rtol=1e-5)
    np.testing.assert_array_equal(r1, r2)
    samples = split.train_counts() * 5
    assert up1[0].upload_bytes >= split.n_users * split.n_items * cfg.fedrap.dim * 4
    ledger = read_ledgers(tmp_path / "one")
    np.testing.assert_array_equal(ledger["steps"], 2 * 2 * -(-samples // 16))
    np.testing.assert_allclose(ledger["sample_rate"], 1 / -(-samples // 16))


def test_noise_reaches_rows_no_user_trained_on(tmp_path):
    # Prepare: one round with and without noise; some items no user holds or samples.
    split = tiny_split(n_users=3, n_items=400, max_train=6)
    runs = {}
    for sigma in (0.0, 1.0):
        cfg = load_config(
            overrides=["fedrap.dim=4", "fedrap.local_epochs=1", "dpsgd.enabled=true",
                       f"dpsgd.noise_multiplier={sigma}"]
        )  # fmt: skip
        init = initial_state(split.n_items, 4, cfg.seed)
        store = ClientStateStore(tmp_path / str(sigma), np.arange(3), init)
        # Execute
        update = train_node(split, store.users, store, init.item_global, cfg, 1)
        runs[sigma] = (update.sums[ITEM_GLOBAL], store.load(np.arange(3)).item_local)
    # Assert: every row of C and of every user's D differs once noise is on.
    (c_clean, d_clean), (c_noisy, d_noisy) = runs[0.0], runs[1.0]
    assert bool(((c_noisy - c_clean).abs() > 0).all())
    assert bool(((d_noisy - d_clean).abs() > 0).all())
