"""GlobalMean on hand-made replies (Prepare / Execute / Assert)."""

import time

import numpy as np
from flwr.app import Array, ArrayRecord, Metadata, MetricRecord, RecordDict
from flwr.app.message.message import make_message

from fedrec import wire
from strategies.global_mean import GlobalMean

SUM = wire.SUM_PREFIX + "item-global"


def _reply(global_sum, weight, users=1, loss=0.5):
    content = RecordDict(
        {
            wire.ARRAYS: ArrayRecord({SUM: Array(np.asarray(global_sum, dtype=np.float32))}),
            wire.METRICS: MetricRecord(
                {
                    wire.WEIGHT_SUM: float(weight),
                    wire.NUM_USERS: users,
                    wire.NUM_EXAMPLES: 10 * users,
                    wire.LOSS_SUM: loss * users,
                    wire.EPOCHS_SUM: 3 * users,
                    wire.TRAIN_SECONDS: 0.1,
                }
            ),
        }
    )
    return reply_message(content)


def reply_message(content, node_id=7):
    """A reply as a node would send it (Flower's own constructor needs a running task)."""
    meta = Metadata(
        run_id=1,
        message_id="",
        src_node_id=node_id,
        dst_node_id=0,
        reply_to_message_id="m",
        group_id="1",
        created_at=time.time(),
        ttl=60.0,
        message_type="train",
    )
    return make_message(meta, content)


def test_aggregate_train_divides_summed_contributions_by_summed_weights():
    # Prepare: node A holds users with C = 1 and 3 (sum 4, weight 2); node B one user with C = 8.
    strategy = GlobalMean(num_nodes=2)
    strategy.expected = {SUM: (2, 3)}
    replies = [
        _reply(np.full((2, 3), 4.0), 2, users=2),
        _reply(np.full((2, 3), 8.0), 1),
    ]
    # Execute
    arrays, metrics = strategy.aggregate_train(1, replies)
    # Assert: the mean over the three users is (1 + 3 + 8) / 3 = 4.
    np.testing.assert_allclose(arrays["item-global"].numpy(), np.full((2, 3), 4.0))
    assert metrics[wire.NUM_USERS] == 3
    assert metrics["loss"] == 0.5


def test_replies_with_nan_wrong_shape_or_extra_arrays_are_dropped_and_the_round_completes():
    # Prepare
    strategy = GlobalMean(num_nodes=4)
    strategy.expected = {SUM: (2, 3)}
    good = _reply(np.full((2, 3), 2.0), 1)
    nan = _reply(np.full((2, 3), np.nan), 1)
    shape = _reply(np.full((3, 3), 2.0), 1)
    leaky = _reply(np.full((2, 3), 2.0), 1)
    leaky.content.array_records[wire.ARRAYS]["sum:item-local"] = Array(np.zeros((2, 3), np.float32))
    # Execute
    arrays, metrics = strategy.aggregate_train(1, [good, nan, shape, leaky])
    # Assert
    np.testing.assert_allclose(arrays["item-global"].numpy(), np.full((2, 3), 2.0))
    assert metrics["rejected-replies"] == 3
    reasons = " ".join(strategy.rejected)
    assert "non-finite" in reasons and "shape" in reasons and "unexpected arrays" in reasons


def test_no_usable_reply_gives_no_update():
    strategy = GlobalMean(num_nodes=1)
    strategy.expected = {SUM: (2, 3)}
    assert strategy.aggregate_train(1, [_reply(np.full((2, 3), np.inf), 1)]) == (
        None,
        None,
    )
