"""The contract every registered strategy keeps (one test per strategy name)."""

import numpy as np
import pytest

from fedrec import wire
from strategies import strategy_names
from tests.aggregation.test_updates import make_updates
from tests.strategies.test_rows import NAME, _strategy, _sum_reply, _user_reply


@pytest.mark.parametrize("name", strategy_names())
def test_every_strategy_aggregates_its_replies_into_finite_arrays_and_checkpoints(name):
    # Prepare: the reply form the strategy asks for.
    strategy = _strategy(name)
    g = strategy.current[NAME]
    parts = [make_updates(3, g.shape[0], g.shape[1], seed=s) for s in (1, 2)]
    needs_users = strategy.rule.needs_users
    replies = [
        (_user_reply(u, i) if needs_users else _sum_reply(u, g, i)) for i, u in enumerate(parts)
    ]
    # Execute
    arrays, metrics = strategy.aggregate_train(1, replies)
    state = strategy.state()
    # Assert
    new = arrays[NAME].numpy()
    assert new.shape == g.shape and new.dtype == np.float32 and np.isfinite(new).all()
    assert metrics[wire.NUM_USERS] == 6 and not strategy.rejected
    fresh = _strategy(name)
    fresh.load_state(state, {NAME: g.shape})
    assert fresh.state() == state
