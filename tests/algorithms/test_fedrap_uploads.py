"""What FedRAP clients upload: per-user updates that add up to the node sum, the client-side
proximal step, FedProx's proximal term, and model-poisoning clients."""

import dataclasses

import numpy as np
import torch

from fedrec.algorithms.base import TrainOptions
from fedrec.algorithms.fedrap.node import ITEM_GLOBAL, train_node
from fedrec.attack import poison_split
from fedrec.config import load_config
from fedrec.models.fedrap import initial_state
from fedrec.state.store import ClientStateStore
from tests.factories import tiny_split

OVERRIDES = ["fedrap.dim=4", "fedrap.local_epochs=3", "federation.aggregation=weighted"]


def _train(tmp_path, options, *extra, split=None, name="a"):
    split = split or tiny_split(n_users=10)
    cfg = load_config(overrides=[*OVERRIDES, *extra])
    init = initial_state(split.n_items, cfg.fedrap.dim, cfg.seed)
    store = ClientStateStore(tmp_path / name, np.arange(split.n_users), init)
    result = train_node(split, store.users, store, init.item_global, cfg, 1, options)
    return result, init.item_global.numpy()


def test_per_user_updates_add_up_to_the_node_sum_and_count_their_bytes(tmp_path):
    # Execute
    result, g = _train(tmp_path, TrainOptions(per_user=True), split=tiny_split(10, n_items=400))
    # Assert
    users = result.users
    assert users is not None and users.n_users == 10
    total = np.einsum("u,uij->ij", users.weights, users.dense(g))
    np.testing.assert_allclose(total, result.sums[ITEM_GLOBAL].numpy(), rtol=1e-4, atol=1e-4)
    assert result.upload_bytes == int(users.upload_nbytes().sum())
    assert result.upload_bytes < 0.5 * 10 * g.nbytes  # touched rows only, not the dense C


def test_the_client_proximal_step_uploads_exact_zeros(tmp_path):
    # Execute
    plain, _ = _train(tmp_path, TrainOptions(per_user=True), name="p")
    proxed, _ = _train(tmp_path, TrainOptions(per_user=True, upload_threshold=2.0), name="q")
    # Assert
    assert np.count_nonzero(proxed.users.values) < np.count_nonzero(plain.users.values)
    assert proxed.upload_bytes < plain.upload_bytes


def test_fedprox_pulls_local_rows_towards_the_global_ones_and_zero_mu_changes_nothing(tmp_path):
    # Execute
    base, g = _train(tmp_path, TrainOptions(per_user=True), name="b")
    zero, _ = _train(tmp_path, TrainOptions(per_user=True, proximal_mu=0.0), name="z")
    prox, _ = _train(tmp_path, TrainOptions(per_user=True, proximal_mu=0.004), name="x")
    # Assert
    np.testing.assert_array_equal(zero.users.values, base.users.values)
    drift = lambda r: np.abs(r.users.dense(g) - g[None]).sum()  # noqa: E731
    assert drift(prox) < drift(base)


def test_model_poisoning_users_scale_their_update(tmp_path):
    # Prepare
    clean = tiny_split(n_users=10)
    attack = ["attack.kind=model_poisoning", "attack.fraction=0.2", "attack.boost=3"]
    cfg = load_config(overrides=attack)
    split = poison_split(clean, cfg.attack, cfg.seed)
    honest = dataclasses.replace(split, n_fake=0)  # the same users, nobody scales
    # Execute
    scaled, g = _train(tmp_path, TrainOptions(per_user=True), *attack, split=split, name="s")
    plain, _ = _train(tmp_path, TrainOptions(per_user=True), *attack, split=honest, name="h")
    # Assert: the fake users' C_u − G is exactly 3× what they would have sent.
    fake = slice(clean.n_users, split.n_users)
    d_scaled = scaled.users.dense(g)[fake] - g
    d_plain = plain.users.dense(g)[fake] - g
    np.testing.assert_allclose(d_scaled, 3 * d_plain, rtol=1e-4, atol=1e-5)
    real = slice(0, clean.n_users)
    np.testing.assert_array_equal(scaled.users.dense(g)[real], plain.users.dense(g)[real])
    assert torch.isfinite(scaled.sums[ITEM_GLOBAL]).all()
