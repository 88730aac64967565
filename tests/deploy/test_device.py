import shutil

import numpy as np
import torch

from fedrec.algorithms.fedrap.node import ITEM_GLOBAL
from fedrec.deploy.device import Device
from fedrec.deploy.state import load_state
from fedrec.models.fedrap import initial_state
from tests.deploy.conftest import N_ITEMS, device_config, write_user

ITEMS = [3, 8, 1, 22, 17, 30, 5, 11, 38, 26, 14]


def _global(cfg):
    return initial_state(N_ITEMS, cfg.fedrap.dim, cfg.seed).item_global


def test_training_saves_the_round_and_sends_only_the_users_global_view(tmp_path):
    # Prepare
    cfg = device_config()
    device = Device(write_user(tmp_path / "u.csv", ITEMS), tmp_path / "state", cfg)
    item_global = _global(cfg)
    # Execute
    update = device.train(item_global, 1)
    # Assert
    state = load_state(tmp_path / "state", device.identity)
    assert state is not None and state.trained_round == 1
    assert [e["event"] for e in state.history] == ["init", "train"]
    assert (update.num_users, update.weight_sum) == (1, 1.0)
    assert update.num_examples == (len(ITEMS) - 2) * (1 + cfg.fedrap.num_negatives)
    sent = update.sums[ITEM_GLOBAL].numpy()
    assert sent.shape == (N_ITEMS, cfg.fedrap.dim)
    assert not np.allclose(sent, item_global.numpy())  # trained
    assert not np.allclose(sent, state.item_local)  # D stays on the device
    np.testing.assert_array_equal(state.seen, sorted(ITEMS))


def test_a_restarted_device_continues_exactly_where_it_stopped(tmp_path):
    # Prepare: one device trains two rounds in one go; a copy of its round-1 state is picked
    # up by a new Device object, as a restarted process would.
    cfg = device_config()
    data = write_user(tmp_path / "u.csv", ITEMS)
    steady = Device(data, tmp_path / "steady", cfg)
    item_global = _global(cfg)
    steady.train(item_global, 1)
    shutil.copytree(tmp_path / "steady", tmp_path / "restarted")
    # Execute
    steady_update = steady.train(item_global, 2)
    restarted_update = Device(data, tmp_path / "restarted", cfg).train(item_global, 2)
    # Assert
    a, b = load_state(tmp_path / "steady"), load_state(tmp_path / "restarted")
    assert a is not None and b is not None
    np.testing.assert_array_equal(a.item_local, b.item_local)
    np.testing.assert_array_equal(a.head_weight, b.head_weight)
    assert [e["sha256"] for e in a.history] == [e["sha256"] for e in b.history]
    torch.testing.assert_close(steady_update.sums[ITEM_GLOBAL], restarted_update.sums[ITEM_GLOBAL])


def test_evaluation_ranks_the_held_out_items_and_keeps_the_new_global_view(tmp_path):
    cfg = device_config()
    device = Device(write_user(tmp_path / "u.csv", ITEMS), tmp_path / "state", cfg)
    device.train(_global(cfg), 1)
    newer = _global(cfg) * 0.5
    ranks = device.evaluate(newer, 1)
    state = load_state(tmp_path / "state")
    assert state is not None
    np.testing.assert_array_equal(state.item_global, newer.numpy())
    assert ranks["users"].tolist() == [0]
    assert 1 <= int(ranks["test_sampled"][0]) <= cfg.data.eval_negatives + 1
    assert 1 <= int(ranks["test_full"][0]) <= N_ITEMS - len(ITEMS) + 1


def test_a_dropped_out_device_sends_nothing_but_its_weight_of_zero(tmp_path):
    cfg = device_config("federation.dropout=0.999999")
    device = Device(write_user(tmp_path / "u.csv", ITEMS), tmp_path / "state", cfg)
    update = device.train(_global(cfg), 1)
    assert (update.num_users, update.num_dropped, update.weight_sum) == (0, 1, 0.0)
    assert float(update.sums[ITEM_GLOBAL].abs().sum()) == 0.0
