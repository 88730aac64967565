"""RowStrategy on hand-made node replies: sums, per-user updates, and unusable updates."""

import json
import logging

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, ConfigRecord, Error, MetricRecord, RecordDict
from flwr.app.message.message import make_message

from fedrec import wire
from fedrec.aggregation.codec import decode_arrays
from fedrec.aggregation.rules import weighted_mean
from fedrec.config import load_config
from strategies import GlobalMean, create_strategy
from tests.aggregation.test_updates import make_updates
from tests.strategies.test_global_mean import reply_message

NAME = "item-global"
N_ITEMS, DIM = 12, 5


def _metrics(weight, users):
    return MetricRecord(
        {
            wire.WEIGHT_SUM: float(weight),
            wire.NUM_USERS: users,
            wire.NUM_EXAMPLES: 10 * users,
            wire.LOSS_SUM: 0.5 * users,
            wire.EPOCHS_SUM: 3 * users,
            wire.TRAIN_SECONDS: 0.1,
            wire.UPLOAD_BYTES: 100 * users,
        }
    )


def _sum_reply(updates, item_global, node_id=7):
    total = weighted_mean(updates, item_global).astype(np.float64) * updates.weights.sum()
    arrays = ArrayRecord({wire.SUM_PREFIX + NAME: Array(total.astype(np.float32))})
    content = RecordDict(
        {wire.ARRAYS: arrays, wire.METRICS: _metrics(updates.weights.sum(), updates.n_users)}
    )
    return reply_message(content, node_id)


def _user_reply(updates, node_id=7):
    prefix = wire.UPDATES_PREFIX + NAME + "."
    parts = {prefix + k: Array(np.ascontiguousarray(v)) for k, v in updates.to_arrays().items()}
    metrics = _metrics(updates.weights.sum(), updates.n_users)
    return reply_message(
        RecordDict({wire.ARRAYS: ArrayRecord(parts), wire.METRICS: metrics}), node_id
    )


def _strategy(name, *extra):
    cfg = load_config(overrides=[f"federation.strategy={name}", "federation.num_nodes=2", *extra])
    strategy = create_strategy(cfg)
    strategy.current = {
        NAME: np.random.default_rng(9).normal(size=(N_ITEMS, DIM)).astype(np.float32)
    }
    return strategy


def test_fedavg_on_node_sums_is_exactly_globalmean():
    # Prepare
    strategy = _strategy("fedavg")
    g = strategy.current[NAME]
    a, b = make_updates(3, N_ITEMS, DIM, seed=1), make_updates(2, N_ITEMS, DIM, seed=2)
    replies = [_sum_reply(a, g, 1), _sum_reply(b, g, 2)]
    reference = GlobalMean(num_nodes=2)
    reference.expected = {wire.SUM_PREFIX + NAME: (N_ITEMS, DIM)}
    # Execute
    arrays, metrics = strategy.aggregate_train(1, replies)
    expected, _ = reference.aggregate_train(1, replies)
    # Assert
    np.testing.assert_array_equal(arrays[NAME].numpy(), expected[NAME].numpy())
    assert metrics[wire.UPLOAD_BYTES] == 500 and metrics["density"] == 1.0


def test_upload_bytes_are_unknown_when_one_node_did_not_count_them():
    # Prepare: node 2 reports 0 bytes (it uploads nothing), node 3 does not count (−1).
    strategy = _strategy("fedavg")
    g = strategy.current[NAME]
    counted, silent = (
        _sum_reply(make_updates(3, N_ITEMS, DIM), g, 2),
        _sum_reply(make_updates(2, N_ITEMS, DIM), g, 3),
    )
    counted.content.metric_records[wire.METRICS][wire.UPLOAD_BYTES] = 0
    silent.content.metric_records[wire.METRICS][wire.UPLOAD_BYTES] = -1
    # Execute
    _, zero = strategy.aggregate_train(1, [counted])
    _, unknown = strategy.aggregate_train(1, [counted, silent])
    # Assert: a true 0 stays 0 (the server must not replace it with a dense estimate).
    assert zero[wire.UPLOAD_BYTES] == 0 and unknown[wire.UPLOAD_BYTES] == -1


def test_per_user_replies_give_the_same_mean_as_presummed_node_replies():
    # Prepare: the equivalence that lets linear strategies use node sums.
    strategy = _strategy("fedavg")
    g = strategy.current[NAME]
    a, b = make_updates(3, N_ITEMS, DIM, seed=1), make_updates(4, N_ITEMS, DIM, seed=2)
    # Execute
    from_sums, _ = strategy.aggregate_train(1, [_sum_reply(a, g, 1), _sum_reply(b, g, 2)])
    from_users, _ = strategy.aggregate_train(1, [_user_reply(a, 1), _user_reply(b, 2)])
    # Assert
    np.testing.assert_allclose(
        from_users[NAME].numpy(), from_sums[NAME].numpy(), rtol=1e-5, atol=1e-6
    )


def test_a_user_with_nan_inf_or_a_node_with_the_wrong_shape_is_dropped_and_the_round_completes(
    caplog,
):
    # Prepare
    strategy = _strategy("fedmedian")
    good = make_updates(3, N_ITEMS, DIM, seed=1, zero_share=0.0)
    poisoned = make_updates(3, N_ITEMS, DIM, seed=2, zero_share=0.0)
    poisoned.values[poisoned.offsets[0]] = np.nan
    poisoned.scales[1] = np.inf
    wrong = make_updates(2, N_ITEMS + 5, DIM, seed=3)  # rows beyond the catalogue
    # Execute
    with caplog.at_level(logging.WARNING):
        arrays, metrics = strategy.aggregate_train(
            1, [_user_reply(good, 1), _user_reply(poisoned, 2), _user_reply(wrong, 3)]
        )
    # Assert
    reasons = " | ".join(strategy.rejected)
    assert "user 0: non-finite values" in reasons and "user 1: non-finite values" in reasons
    assert "node 3: undecodable update" in reasons
    assert "dropping" in caplog.text
    assert np.isfinite(arrays[NAME].numpy()).all() and metrics["rejected-replies"] == 3


def test_server_side_decay_scales_the_aggregate_by_the_configured_factor():
    # Prepare: the same replies with C decayed by the clients (no factor) and by the server.
    client = _strategy("fedavg")
    server = _strategy("fedavg", "fedrap.c_decay=server")
    g = client.current[NAME]
    replies = [_sum_reply(make_updates(3, N_ITEMS, DIM, seed=1), g)]
    # Execute
    plain, _ = client.aggregate_train(4, replies)
    decayed, _ = server.aggregate_train(4, replies)
    # Assert: round 4's η = 200·0.97³, ten local steps with the batch decay 0.95.
    lr = 200 * 0.97**3
    factor = np.prod([1 - lr * 0.95**t * 1e-4 for t in range(10)])
    np.testing.assert_allclose(decayed[NAME].numpy(), plain[NAME].numpy() * factor, rtol=1e-6)
    assert factor < 0.9


def test_the_target_density_is_applied_after_aggregation():
    # Prepare
    strategy = _strategy("fedavg", "sparsity.target_density=0.2")
    g = strategy.current[NAME]
    # Execute
    arrays, metrics = strategy.aggregate_train(1, [_sum_reply(make_updates(3, N_ITEMS, DIM), g)])
    # Assert
    assert np.count_nonzero(arrays[NAME].numpy()) <= 0.2 * N_ITEMS * DIM
    assert metrics["density"] <= 0.2 and metrics["threshold"] > 0


def test_a_row_scope_applies_the_target_density_to_every_row_of_c():
    # Prepare: DIM 5 at density 0.4 leaves 2 entries per item
    strategy = _strategy("fedavg", "sparsity.target_density=0.4", "sparsity.scope=row")
    g = strategy.current[NAME]
    # Execute
    arrays, metrics = strategy.aggregate_train(1, [_sum_reply(make_updates(3, N_ITEMS, DIM), g)])
    # Assert
    per_row = np.count_nonzero(arrays[NAME].numpy(), axis=1)
    assert (per_row == 2).all() and metrics["density"] == 0.4


def test_a_ramp_lowers_the_density_gradually():
    # Prepare
    g = _strategy("fedavg").current[NAME]
    reply = make_updates(3, N_ITEMS, DIM)
    # Execute: rounds 1 and 5 of a 10-round ramp to density 0.1
    densities = []
    for server_round in (1, 5, 10):
        strategy = _strategy("fedavg", "sparsity.target_density=0.1", "sparsity.ramp_rounds=10")
        _, metrics = strategy.aggregate_train(server_round, [_sum_reply(reply, g)])
        densities.append(metrics["density"])
    # Assert: 1 − 0.9·(1 − (1 − r/10)³) of the entries survive
    expected = [0.1 + 0.9 * (1 - r / 10) ** 3 for r in (1, 5, 10)]
    np.testing.assert_allclose(densities, expected, atol=2 / (N_ITEMS * DIM))


def test_with_feedback_changes_land_on_the_dense_shadow_and_pruned_entries_can_return():
    # Prepare: the same replies to a sparse strategy with feedback and to a dense one.
    sparse = _strategy(
        "fedavg",
        "sparsity.target_density=0.2",
        "sparsity.shrink=hard",
        "sparsity.feedback=true",
    )
    dense = _strategy("fedavg")
    g = sparse.current[NAME]
    replies = [make_updates(3, N_ITEMS, DIM, seed=s) for s in (1, 2)]
    # Execute: round 1, then round 2 from the sparse C it sent.
    first, _ = sparse.aggregate_train(1, [_sum_reply(replies[0], g)])
    shadow_1 = sparse.shadow[NAME].copy()
    sent = first[NAME].numpy()
    sparse.current = dense.current = {NAME: sent}
    second, metrics = sparse.aggregate_train(2, [_sum_reply(replies[1], sent)])
    plain, _ = dense.aggregate_train(2, [_sum_reply(replies[1], sent)])
    # Assert: round 1's shadow is the dense aggregate; round 2 adds the round's dense change.
    dense_1, _ = _strategy("fedavg").aggregate_train(1, [_sum_reply(replies[0], g)])
    np.testing.assert_allclose(shadow_1, dense_1[NAME].numpy(), rtol=1e-6)
    expected = shadow_1 + (plain[NAME].numpy() - sent)
    np.testing.assert_allclose(sparse.shadow[NAME], expected, rtol=1e-5, atol=1e-6)
    assert metrics["density"] <= 0.2
    kept = second[NAME].numpy() != 0
    np.testing.assert_array_equal(second[NAME].numpy()[kept], sparse.shadow[NAME][kept])
    assert np.any(kept & (sent == 0)), "no entry cut in round 1 came back in round 2"


def test_the_shadow_survives_a_checkpoint():
    # Prepare
    strategy = _strategy("fedavg", "sparsity.target_density=0.2", "sparsity.feedback=true")
    g = strategy.current[NAME]
    strategy.aggregate_train(1, [_sum_reply(make_updates(3, N_ITEMS, DIM), g)])
    again = _strategy("fedavg", "sparsity.target_density=0.2", "sparsity.feedback=true")
    # Execute
    again.load_state(json.loads(json.dumps(strategy.state())), {NAME: (N_ITEMS, DIM)})
    # Assert
    np.testing.assert_array_equal(again.shadow[NAME], strategy.shadow[NAME])
    assert again.threshold == strategy.threshold


def test_training_messages_carry_encoded_c_and_what_clients_must_do(monkeypatch):
    # Prepare: capture what would be put into the messages (Flower's own constructor needs a
    # running task).
    from strategies import rows

    monkeypatch.setattr(
        rows.FedAvg, "configure_train", lambda self, rnd, arrays, config, grid: [(arrays, config)]
    )
    strategy = _strategy("fedmedian", "sparsity.upload_density=0.2", "sparsity.target_density=0.1")
    strategy.threshold = 0.05
    c = np.random.default_rng(0).normal(size=(200, 16)).astype(np.float32)
    c[np.abs(c) < 1.5] = 0
    strategy.current = {NAME: c}
    # Execute
    ((arrays, config),) = strategy.configure_train(
        3, ArrayRecord({NAME: Array(c)}), ConfigRecord({}), None
    )
    # Assert
    assert config[wire.PER_USER] is True and config[wire.UPLOAD_DENSITY] == 0.2
    assert config[wire.UPLOAD_THRESHOLD] == 0.05 and config[wire.PROXIMAL_MU] == 0.0
    decoded = decode_arrays({k: a.numpy() for k, a in arrays.items()})
    np.testing.assert_array_equal(decoded[NAME], c)
    assert strategy.download_bytes < strategy.dense_bytes


def _ranks_reply(users, rank, node_id=7):
    arrays = {wire.USERS: np.asarray(users, dtype=np.int64)}
    arrays |= {key: np.full(len(users), rank, dtype=np.int64) for key in wire.RANK_KEYS}
    content = RecordDict({wire.ARRAYS: ArrayRecord({k: Array(v) for k, v in arrays.items()})})
    return reply_message(content, node_id)


def _failed_reply(node_id):
    meta = reply_message(RecordDict(), node_id).metadata
    return make_message(meta, error=Error(code=0, reason="ActorDiedError"))


def test_evaluation_pools_every_node_and_counts_its_users():
    # Prepare
    strategy = create_strategy(load_config(overrides=["federation.num_nodes=2"]), n_real_users=5)
    replies = [_ranks_reply([0, 1, 2], rank=1, node_id=1), _ranks_reply([3, 4], rank=50, node_id=2)]
    # Execute
    metrics = strategy.aggregate_evaluate(3, replies)
    # Assert: 3 of 5 users hit at rank 1, the other 2 miss at rank 50.
    assert metrics["eval_users"] == 5
    assert metrics["test_sampled_hr10"] == 0.6


def test_a_simulated_node_that_fails_evaluation_stops_the_run_instead_of_shrinking_the_metric():
    # Prepare
    strategy = create_strategy(load_config(overrides=["federation.num_nodes=2"]), n_real_users=5)
    replies = [_ranks_reply([0, 1, 2], rank=1, node_id=1), _failed_reply(node_id=2)]
    # Execute / Assert
    with pytest.raises(RuntimeError, match=r"round 3: evaluation failed on node 2 \(ActorDied"):
        strategy.aggregate_evaluate(3, replies)


def test_a_device_that_fails_evaluation_is_left_out_with_a_warning(caplog):
    # Prepare: in deployment the server does not know the population
    strategy = create_strategy(load_config(overrides=["federation.num_nodes=2"]))
    replies = [_ranks_reply([0, 1, 2], rank=1, node_id=1), _failed_reply(node_id=2)]
    # Execute
    with caplog.at_level(logging.WARNING):
        metrics = strategy.aggregate_evaluate(3, replies)
    # Assert
    assert metrics["eval_users"] == 3 and metrics["test_sampled_hr10"] == 1.0
    assert "evaluation failed on node 2" in caplog.text
