"""The ClientApp called directly with hand-made messages (no Ray, no simulation engine)."""

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Metadata, RecordDict
from flwr.app.message.message import make_message

from clients.app import make_client_app
from clients.runtime import split_for
from fedrec import wire
from fedrec.algorithms.fedrap.algorithm import _open_store
from fedrec.config import load_config
from fedrec.models.fedrap import initial_state
from tests.factories import tiny_synthetic

TINY = tiny_synthetic(30, 60)


def _message(kind, item_global, state_dir, server_round=1):
    content = RecordDict(
        {
            wire.ARRAYS: ArrayRecord({"item-global": Array(item_global)}),
            wire.CONFIG: ConfigRecord({wire.SERVER_ROUND: server_round, wire.STATE_DIR: state_dir}),
        }
    )
    meta = Metadata(
        run_id=1,
        message_id="m1",
        src_node_id=0,
        dst_node_id=5,
        reply_to_message_id="",
        group_id=str(server_round),
        created_at=time.time(),
        ttl=600.0,
        message_type=kind,
    )
    return make_message(meta, content)


def _store(state_dir, partition, partitions, cfg):
    split = split_for(cfg)
    lo, hi = partition * split.n_users // partitions, (partition + 1) * split.n_users // partitions
    folder = f"{state_dir}/node-{partition:04d}-of-{partitions:04d}"
    key = (split.n_items, cfg.fedrap.dim, cfg.seed, cfg.fedrap.variant, cfg.fedrap.local_init_std)
    return _open_store(folder, (lo, hi), key)


def _context(partition=0, partitions=2):
    node_config = {"partition-id": partition, "num-partitions": partitions}
    return Context(run_id=1, node_id=5, node_config=node_config, state=RecordDict(), run_config={})


def test_train_reply_carries_only_the_global_view_never_private_tensors(tmp_path):
    # Prepare
    cfg = load_config(overrides=TINY)
    split = split_for(cfg)
    item_global = initial_state(split.n_items, cfg.fedrap.dim, cfg.seed).item_global.numpy()
    app = make_client_app(cfg)
    # Execute
    reply = app(_message("train", item_global, str(tmp_path)), _context())
    # Assert: exactly the whitelisted keys, and no array equal to any private tensor.
    arrays = reply.content.array_records[wire.ARRAYS]
    assert set(arrays.keys()) == {"sum:item-global"}
    assert set(reply.content.array_records.keys()) == {wire.ARRAYS}
    assert not reply.content.config_records
    store = _store(tmp_path, 0, 2, cfg)
    private = store.load(store.users)
    sent = arrays["sum:item-global"].numpy()
    for u in range(len(store.users)):
        assert not np.allclose(sent, private.item_local[u].numpy())
    assert not np.isin(private.head_weight.numpy(), sent).any()
    assert reply.content.metric_records[wire.METRICS][wire.NUM_USERS] == len(store.users)


def test_private_state_persists_across_rounds_and_evaluate_returns_ranks(tmp_path):
    # Prepare
    cfg = load_config(overrides=TINY)
    split = split_for(cfg)
    item_global = initial_state(split.n_items, cfg.fedrap.dim, cfg.seed).item_global.numpy()
    app = make_client_app(cfg)
    app(_message("train", item_global, str(tmp_path), 1), _context(1))
    after_one = _store(tmp_path, 1, 2, cfg).load(np.arange(15, 30)).item_local.clone()
    # Execute
    app(_message("train", item_global, str(tmp_path), 2), _context(1))
    reply = app(_message("evaluate", item_global, str(tmp_path), 2), _context(1))
    # Assert
    after_two = _store(tmp_path, 1, 2, cfg).load(np.arange(15, 30)).item_local
    assert not np.allclose(after_one.numpy(), after_two.numpy())
    ranks = reply.content.array_records[wire.ARRAYS]
    assert ranks[wire.USERS].numpy().tolist() == list(range(15, 30))
    sampled = ranks["test_sampled"].numpy()
    assert sampled.min() >= 1 and sampled.max() <= cfg.data.eval_negatives + 1


def test_starting_a_node_does_not_import_opacus() -> None:
    # Prepare: a fresh interpreter, as a Ray actor is, with the repository on its path
    code = "import sys, clients.app, server.app; print('opacus' in sys.modules)"
    root = Path(__file__).resolve().parents[2]

    # Execute
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )

    # Assert: Opacus (1.8 s of imports in every node process) waits for a DP run to need it
    assert out.stdout.strip() == "False"
