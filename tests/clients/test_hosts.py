"""Which users a node hosts: the node config decides, the run's config must agree."""

import time

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Metadata, RecordDict
from flwr.app.message.message import make_message

from clients.app import make_client_app
from clients.hosts import DeviceUser, SimulatedUsers, device_paths, host_for
from fedrec import wire
from fedrec.config import load_config
from fedrec.deploy.state import load_state
from fedrec.models.fedrap import initial_state
from tests.deploy.conftest import N_ITEMS, device_config, write_user
from tests.factories import tiny_synthetic


def test_no_device_keys_means_a_simulated_node():
    assert device_paths({"partition-id": 0, "num-partitions": 2}) is None


@pytest.mark.parametrize(
    ("node_config", "message"),
    [
        ({"data-file": "/a.csv"}, "'data-file' but no 'state-dir'"),
        ({"state-dir": "/s"}, "'state-dir' but no 'data-file'"),
        ({"data-file": "a.csv", "state-dir": "/s"}, "'data-file' must be an absolute path"),
    ],
)
def test_incomplete_or_relative_device_config_is_refused(node_config, message):
    with pytest.raises(ValueError, match=message):
        device_paths(node_config)


def test_deployment_run_refuses_a_node_without_a_data_file():
    with pytest.raises(ValueError, match="names no 'data-file'"):
        host_for({"partition-id": 0}, device_config(), "")


def test_simulation_run_refuses_a_device(tmp_path):
    node = {"data-file": str(tmp_path / "u.csv"), "state-dir": str(tmp_path / "s")}
    with pytest.raises(ValueError, match=r"deployment\.enabled=true"):
        host_for(node, load_config(overrides=tiny_synthetic(10, 60)), "")


def test_each_kind_of_node_gets_its_host(tmp_path):
    node = {"data-file": str(tmp_path / "u.csv"), "state-dir": str(tmp_path / "s")}
    assert isinstance(host_for(node, device_config(), ""), DeviceUser)
    simulation = load_config(overrides=tiny_synthetic(10, 60))
    sim = host_for({"partition-id": 1, "num-partitions": 2}, simulation, str(tmp_path))
    assert isinstance(sim, SimulatedUsers)
    assert sim.node.hosted.tolist() == [5, 6, 7, 8, 9]


def test_the_same_client_app_trains_one_user_on_a_device(tmp_path):
    # Prepare: a device node (Flower Context with its node config) and a train message.
    cfg = device_config()
    data = write_user(tmp_path / "u.csv", [3, 8, 1, 22, 17, 30, 5, 11, 38, 26])
    node = {"data-file": str(data), "state-dir": str(tmp_path / "state")}
    context = Context(run_id=1, node_id=7, node_config=node, state=RecordDict(), run_config={})
    item_global = initial_state(N_ITEMS, cfg.fedrap.dim, cfg.seed).item_global.numpy()
    content = RecordDict(
        {
            wire.ARRAYS: ArrayRecord({"item-global": Array(item_global)}),
            wire.CONFIG: ConfigRecord({wire.SERVER_ROUND: 1, wire.STATE_DIR: "/server/only"}),
        }
    )
    meta = Metadata(
        run_id=1,
        message_id="m1",
        src_node_id=0,
        dst_node_id=7,
        reply_to_message_id="",
        group_id="1",
        created_at=time.time(),
        ttl=600.0,
        message_type="train",
    )
    # Execute
    reply = make_client_app(cfg)(make_message(meta, content), context)
    # Assert: one user trained, only the global view sent, the state saved on the device.
    arrays = reply.content.array_records[wire.ARRAYS]
    assert set(arrays.keys()) == {"sum:item-global"}
    assert reply.content.metric_records[wire.METRICS][wire.NUM_USERS] == 1
    state = load_state(tmp_path / "state")
    assert state is not None and state.trained_round == 1
    assert not np.allclose(arrays["sum:item-global"].numpy(), state.item_local)
