import pytest

from fedrec.config import ConfigError, load_config
from fedrec.results import protocol_record
from server.loop import stalled

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


def test_patience_needs_validation_selection_and_is_recorded_in_the_protocol():
    with pytest.raises(ConfigError, match=r"eval\.patience"):
        load_config(overrides=["eval.patience=5", "eval.selection=test"])
    with pytest.raises(ConfigError, match=r"eval\.patience"):
        load_config(overrides=["eval.patience=-1"])
    cfg = load_config(overrides=["eval.patience=5"])
    assert "after 5 evaluations" in protocol_record(cfg)["early_stop"]
    assert protocol_record(load_config())["early_stop"].startswith("none")
