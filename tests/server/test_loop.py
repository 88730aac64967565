import pytest

from fedrec.config import ConfigError, load_config
from fedrec.results import protocol_record, selectable
from server.loop import exchange, stalled

METRIC = "val_sampled_hr10"


def _records(*scores):
    """One record per round; ``None`` is a round that was not evaluated."""
    return [
        {"round": r + 1} if s is None else {"round": r + 1, METRIC: s} for r, s in enumerate(scores)
    ]


@pytest.mark.parametrize(
    ("scores", "patience", "expected"),
    [
        ((0.1, 0.2, 0.3), 0, False),  # patience 0 never stops
        ((0.3, 0.2, 0.1), 0, False),
        ((0.1, 0.3, 0.2, 0.2), 2, True),  # two evaluations without beating 0.3
        ((0.1, 0.3, 0.2, 0.4), 2, False),  # the last one beat it
        ((0.1, 0.3, 0.3, 0.3), 2, True),  # a tie is no improvement
        ((0.3, 0.2), 2, False),  # fewer evaluations than the patience
        ((0.1, 0.3, None, 0.2, None, None), 2, False),  # unevaluated rounds do not count
        ((0.1, 0.3, None, 0.2, None, 0.1), 2, True),
    ],
)
def test_stalled_counts_evaluations_without_a_better_validation_score(scores, patience, expected):
    assert stalled(_records(*scores), METRIC, patience) is expected


def test_nothing_stops_before_patience_from():
    # Prepare: the score dips for three evaluations after round 1, then would rise
    records = _records(0.4, 0.3, 0.35, 0.38)
    # Execute / Assert: patience 3 alone keeps round 1's model; from round 5 on it may not stop yet
    assert stalled(records, METRIC, 3)
    assert not stalled(records, METRIC, 3, patience_from=5)
    assert stalled(records, METRIC, 3, patience_from=4)


def test_patience_from_is_recorded_in_the_protocol_and_must_not_be_negative():
    cfg = load_config(overrides=["eval.patience=5", "eval.patience_from=30"])
    assert protocol_record(cfg)["early_stop"].endswith("not before round 30")
    with pytest.raises(ConfigError, match=r"eval\.patience_from"):
        load_config(overrides=["eval.patience_from=-1"])


def test_patience_needs_validation_selection_and_is_recorded_in_the_protocol():
    with pytest.raises(ConfigError, match=r"eval\.patience"):
        load_config(overrides=["eval.patience=5", "eval.selection=test"])
    with pytest.raises(ConfigError, match=r"eval\.patience"):
        load_config(overrides=["eval.patience=-1"])
    cfg = load_config(overrides=["eval.patience=5"])
    assert "after 5 evaluations" in protocol_record(cfg)["early_stop"]
    assert protocol_record(load_config())["early_stop"].startswith("none")


class _Grid:
    """A grid whose nodes answer only the first ``answered`` messages, and that records waits."""

    def __init__(self, answered):
        self.answered, self.timeouts = answered, []

    def send_and_receive(self, messages, *, timeout=None):
        self.timeouts.append(timeout)
        return [f"reply to {m}" for m in list(messages)[: self.answered]]


def test_exchange_returns_every_reply_and_passes_its_time_limit_to_the_grid():
    # Prepare
    grid = _Grid(answered=3)
    # Execute
    replies = exchange(grid, ["a", "b", "c"], 60.0, "round 1, training")
    unlimited = exchange(grid, ["a"], 0.0, "round 1, evaluation")
    # Assert
    assert replies == ["reply to a", "reply to b", "reply to c"]
    assert unlimited == ["reply to a"]
    assert grid.timeouts == [60.0, None]  # 0 waits without limit


def test_exchange_stops_the_run_when_a_node_never_replies():
    with pytest.raises(RuntimeError, match=r"round 7, evaluation: 1 of 3 nodes sent no reply"):
        exchange(_Grid(answered=2), ["a", "b", "c"], 5.0, "round 7, evaluation")


def test_reply_timeout_must_not_be_negative():
    with pytest.raises(ConfigError, match=r"federation\.reply_timeout_s"):
        load_config(overrides=["federation.reply_timeout_s=-1"])


def test_a_ramped_sparse_run_does_not_stop_on_its_dense_rounds_scores():
    # Prepare: the best score is at round 1, while C is still dense (target reached at round 4)
    cfg = load_config(
        overrides=["rounds=10", "sparsity.target_density=0.1", "sparsity.ramp_rounds=4"]
    )
    records = _records(0.9, 0.5, 0.6, 0.7, 0.65, 0.68)
    # Execute / Assert: over all rounds, patience 3 would stop; over rounds >= 4 nothing stalled yet
    assert stalled(records, METRIC, 3)
    assert not stalled(selectable(cfg, records), METRIC, 3)
