"""The search file of fedrec tune: what it accepts, and every way it refuses a search."""

import math

import pytest

from fedrec.config import ConfigError
from fedrec.search import Distribution, Search

GOOD = """
name: s
output_dir: {out}
base: [dataset=synthetic, rounds=2]
algorithms: {{fedrap: [algorithm=fedrap], fedmf: [algorithm=fedmf]}}
space:
  fedrap.lr_head: {{loguniform: [0.01, 1.0]}}
  fedrap.local_epochs: {{randint: [1, 4]}}
extra_space:
  fedrap: {{fedrap.regulariser: {{choice: [l1, l2]}}, fedrap.lam: {{uniform: [0.0, 0.5]}}}}
num_samples: 3
seed: 7
"""
MINIMAL = """base: [dataset=synthetic]
algorithms: {fedrap: [algorithm=fedrap]}
space: {fedrap.lam: {uniform: [0.0, 1.0]}}
"""


def _write(tmp_path, text):
    path = tmp_path / "search.yaml"
    path.write_text(text)
    return path


def test_a_search_file_is_read_with_a_shared_space_and_extra_keys_per_algorithm(tmp_path):
    # Execute
    search = Search.load(_write(tmp_path, GOOD.format(out=tmp_path)), base=["rounds=1"])
    # Assert
    assert search.output_dir == tmp_path / "s"
    assert search.fixed("fedmf") == ["dataset=synthetic", "rounds=2", "rounds=1", "algorithm=fedmf"]
    assert list(search.space_of("fedmf")) == ["fedrap.lr_head", "fedrap.local_epochs"]
    assert set(search.space_of("fedrap")) == {
        "fedrap.lr_head",
        "fedrap.local_epochs",
        "fedrap.regulariser",
        "fedrap.lam",
    }
    assert (search.num_samples, search.seed, search.concurrency) == (3, 7, 1)


def test_command_line_changes_replace_file_keys(tmp_path):
    search = Search.load(
        _write(tmp_path, GOOD.format(out=tmp_path)), num_samples=2, output_dir=str(tmp_path / "o")
    )
    assert search.num_samples == 2 and search.output_dir == tmp_path / "o" / "s"


def test_each_algorithm_may_have_only_its_own_space_but_not_none(tmp_path):
    # Prepare
    own = "algorithms: {a: [algorithm=fedrap], b: [algorithm=fedmf]}\n"
    a_only = "extra_space: {a: {fedrap.lam: {uniform: [0.0, 1.0]}}}\n"
    b_too = "  b: {fedrap.lr_head: {uniform: [0.1, 1.0]}}\n"
    a_only_block = "extra_space:\n  a: {fedrap.lam: {uniform: [0.0, 1.0]}}\n"
    # Execute
    search = Search.load(_write(tmp_path, own + a_only_block + b_too))
    # Assert
    assert list(search.space_of("a")) == ["fedrap.lam"]
    assert list(search.space_of("b")) == ["fedrap.lr_head"]
    with pytest.raises(ConfigError, match="b: nothing to search"):
        Search.load(_write(tmp_path, own + a_only))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("\nsamples: 3\n", "unknown search keys \\['samples'\\]"),
        ("\nextra_space: {fedncf: {}}\n", "fedncf"),
        ("\nconcurrency: 0\n", "at least 1"),
    ],
)
def test_unknown_or_inconsistent_file_keys_are_errors(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        Search.load(_write(tmp_path, MINIMAL + change))


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ("{fedrap.lr_hed: {uniform: [0.1, 1.0]}}", "fedrap.lr_hed"),  # not a config key
        ("{fedrap.local_epochs: {uniform: [1, 10]}}", "fedrap.local_epochs"),  # floats for an int
        ("{fedrap.regulariser: {choice: [l1, l3]}}", "fedrap.regulariser"),  # a bad choice
        ("{federation.participation: {uniform: [0.5, 1.5]}}", "participation"),  # out of range
        ("{fedrap.lam: {normal: [0, 1]}}", "fedrap.lam"),  # unknown distribution
        ("{fedrap.lam: {uniform: [1.0, 0.0]}}", "low < high"),
        ("{fedrap.lam: {loguniform: [0.0, 1.0]}}", "low > 0"),
        ("{fedrap.dim: {randint: [1.5, 9]}}", "integer bounds"),
        ("{seed: {randint: [0, 9]}}", "sets \\['seed'\\] itself"),
    ],
)
def test_a_space_a_run_would_refuse_is_an_error_before_any_trial(tmp_path, space, message):
    text = MINIMAL.replace("space: {fedrap.lam: {uniform: [0.0, 1.0]}}", f"space: {space}")
    with pytest.raises(ConfigError, match=message):
        Search.load(_write(tmp_path, text))


def test_a_missing_or_non_mapping_search_file_is_a_config_error(tmp_path):
    # Prepare
    listed = tmp_path / "list.yaml"
    listed.write_text("- fedrap\n")
    # Execute / Assert
    with pytest.raises(ConfigError, match="search file not found"):
        Search.load(tmp_path / "none.yaml")
    with pytest.raises(ConfigError, match="mapping"):
        Search.load(listed)


def test_an_unknown_algorithm_and_a_test_objective_are_errors(tmp_path):
    space = "space: {fedrap.lam: {uniform: [0.0, 1.0]}}\n"
    assert space in MINIMAL
    with pytest.raises(ConfigError, match="fedrapp"):
        Search.load(_write(tmp_path, "algorithms: {x: [algorithm=fedrapp]}\n" + space))
    with pytest.raises(ConfigError, match="validation HR@10"):
        Search.load(_write(tmp_path, "algorithms: {x: [eval.selection=test]}\n" + space))


def test_probes_cover_both_ends_and_the_middle():
    assert Distribution("randint", (1, 11)).probes() == [1, 10, 5]
    low, high, middle = Distribution("loguniform", (0.01, 1.0)).probes()
    assert (low, high) == (0.01, 1.0) and math.isclose(middle, 0.1)
    assert Distribution("choice", ("l1", "l2")).probes() == ["l1", "l2"]


def test_the_reference_point_holds_each_searched_keys_unsearched_value(tmp_path):
    # Prepare
    text = (
        "base: [dataset=synthetic, fedrap.lam=0.3]\n"
        "algorithms: {a: [algorithm=fedrap], p: [algorithm=pfedrec]}\n"
        "extra_space:\n"
        "  a: {fedrap.lam: {uniform: [0.0, 1.0]}, fedrap.local_epochs: {randint: [1, 11]}}\n"
        "  p: {pfedrec.lr_eta: {loguniform: [1.0, 300.0]}}\n"
        "reference_first: true\n"
    )
    # Execute
    search = Search.load(_write(tmp_path, text))
    # Assert: the base's value where it sets one, the config's default elsewhere
    assert search.reference_first
    assert search.reference_point("a") == {"fedrap.lam": 0.3, "fedrap.local_epochs": 10}
    assert search.reference_point("p") == {"pfedrec.lr_eta": 80.0}
    assert not Search.load(_write(tmp_path, MINIMAL)).reference_first


POINTED = """base: [dataset=synthetic, fedrap.lam=0.3]
algorithms: {a: [algorithm=fedrap], b: [algorithm=fedmf]}
space: {fedrap.lam: {uniform: [0.0, 1.0]}, fedrap.batch_size: {choice: [256, 2048]}}
num_samples: 3
"""


def test_start_points_follow_the_reference_and_keep_its_values_for_keys_they_do_not_name(
    tmp_path,
):
    # Prepare
    text = POINTED + "reference_first: true\nstart_points: {a: [{fedrap.batch_size: 256}]}\n"
    # Execute
    search = Search.load(_write(tmp_path, text))
    # Assert: a's trials start with the reference, then the point; b starts with the reference
    reference = {"fedrap.lam": 0.3, "fedrap.batch_size": 2048}
    assert search.first_points("a") == [reference, {"fedrap.lam": 0.3, "fedrap.batch_size": 256}]
    assert search.first_points("b") == [reference]


def test_without_reference_first_only_the_start_points_come_first(tmp_path):
    search = Search.load(_write(tmp_path, POINTED + "start_points: {b: [{fedrap.lam: 0.9}]}\n"))
    assert search.first_points("a") == []
    assert search.first_points("b") == [{"fedrap.lam": 0.9, "fedrap.batch_size": 2048}]


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ("{c: [{fedrap.lam: 0.5}]}", "start_points names algorithms not searched"),
        ("{a: [{fedrap.lr_head: 0.5}]}", "outside the searched space"),  # a key not searched
        ("{a: [{fedrap.lam: 1.5}]}", "outside the searched space"),  # beyond the bounds
        ("{a: [{fedrap.batch_size: 512}]}", "outside the searched space"),  # not a choice
        (
            "{a: [{fedrap.lam: 0.1}, {fedrap.lam: 0.2}, {fedrap.lam: 0.3}, {fedrap.lam: 0.4}]}",
            "num_samples 3 is fewer",
        ),
        ("{a: {fedrap.lam: 0.5}}", "a list of"),  # a mapping, not a list of points
    ],
)
def test_a_start_point_outside_the_space_or_the_budget_is_an_error(tmp_path, points, message):
    with pytest.raises(ConfigError, match=message):
        Search.load(_write(tmp_path, POINTED + f"start_points: {points}\n"))


@pytest.mark.parametrize(
    ("dist", "inside", "outside"),
    [
        (Distribution("randint", (1, 11)), [1, 10], [0, 11, 2.5, True]),
        (Distribution("loguniform", (0.1, 10.0)), [0.1, 3, 10.0], [0.09, 11.0, "1"]),
        (Distribution("choice", ("l1", "l2")), ["l1"], ["l3"]),
    ],
)
def test_contains_is_true_exactly_for_values_the_distribution_can_draw(dist, inside, outside):
    assert all(dist.contains(v) for v in inside)
    assert not any(dist.contains(v) for v in outside)
