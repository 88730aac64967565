"""Algorithms without D store no D, and score exactly as they did with a stored zero D."""

import numpy as np
import pytest
import torch

import fedrec.algorithms.additive.algorithm as additive
import fedrec.algorithms.fedrap.algorithm as fedrap
from fedrec.algorithms import create_algorithm
from fedrec.algorithms.base import NodeData
from fedrec.config import load_config
from fedrec.state.store import ClientStateStore
from tests.factories import tiny_split


class _StoreWithD(ClientStateStore):
    """The store as it was before: a full zero D kept and read even when nothing trains it."""

    def __init__(self, folder, users, init, precision="float32", keep_local=True):
        super().__init__(folder, users, init, precision, keep_local=True)


def _run(folder, overrides):
    split = tiny_split(n_users=9)
    cfg = load_config(overrides=["fedrap.dim=4", "fedrap.local_epochs=2", *overrides])
    algorithm = create_algorithm(cfg)
    arrays = {k: torch.from_numpy(v) for k, v in algorithm.initial_global(split).items()}
    node = NodeData(split, np.arange(split.n_users), folder)
    for server_round in (1, 2):
        update = algorithm.train_node(node, arrays, server_round)
        arrays = {k: v / update.weight_sum for k, v in update.sums.items()}
    return update, algorithm.evaluate_node(node, arrays)


@pytest.mark.parametrize(
    "overrides",
    [
        ["algorithm=fedmf"],
        ["algorithm=fedrap", "fedrap.variant=global_only"],
        ["algorithm=fedncf"],
        ["algorithm=fedmf", "model.name=mf"],
    ],
)
def test_no_d_algorithms_store_no_d_and_give_identical_results(tmp_path, monkeypatch, overrides):
    # Prepare / Execute: the same two rounds with the new store and with one that keeps D.
    update, ranks = _run(tmp_path / "new", overrides)
    monkeypatch.setattr(fedrap, "ClientStateStore", _StoreWithD)
    monkeypatch.setattr(additive, "ClientStateStore", _StoreWithD)
    old_update, old_ranks = _run(tmp_path / "old", overrides)
    # Assert: bit-identical sums and ranks; only the old store wrote a D file.
    for name in update.sums:
        torch.testing.assert_close(update.sums[name], old_update.sums[name], rtol=0, atol=0)
    for key in ranks:
        np.testing.assert_array_equal(ranks[key], old_ranks[key])
    assert not list((tmp_path / "new").rglob("item_local.npy"))
    assert list((tmp_path / "old").rglob("item_local.npy"))
