"""``fedrec bench``: round statistics, suite registry, and a tiny end-to-end case."""

import json
import math

import pytest

from fedrec.bench import format_table, report, round_stats, run_cases
from fedrec.bench_suites import SUITES, Case, get_suite
from fedrec.config import ConfigError, load_config
from tests.factories import tiny_synthetic


def _record(n, seconds, train, clients, **extra):
    return {
        "round": n,
        "round_seconds": seconds,
        "node_train_seconds_max": train,
        "clients": clients,
        "upload_bytes": 100 * clients,
        "download_bytes": 200 * clients,
        "sim_message_bytes_up": 10,
        "sim_message_bytes_down": 20,
        **extra,
    }


def test_round_stats_exclude_round_one_and_take_medians():
    # Prepare: round 1 is slow (start-up) and must not count; evaluation only in round 4.
    records = [
        _record(1, 100.0, 1.0, 10),
        _record(2, 3.0, 1.0, 10),
        _record(3, 5.0, 2.0, 10),
        _record(4, 4.0, 1.0, 20, eval_seconds=7.0),
    ]
    # Execute
    stats = round_stats(records)
    # Assert
    assert stats.rounds_measured == 3
    assert (stats.round_seconds_median, stats.round_seconds_min, stats.round_seconds_max) == (
        4.0,
        3.0,
        5.0,
    )
    assert stats.train_seconds_median == 1.0
    # Overhead per client, ms: (3-1)/10, (5-2)/10, (4-1)/20 -> 200, 300, 150; median 200.
    assert stats.overhead_ms_per_client == pytest.approx(200.0)
    assert stats.clients_per_round == 10
    assert stats.upload_bytes_per_round == 1000 and stats.download_bytes_per_round == 2000
    assert stats.sim_message_bytes_up == 10 and stats.sim_message_bytes_down == 20
    assert stats.eval_seconds_median == 7.0


def test_round_stats_need_a_second_round():
    with pytest.raises(ValueError, match="rounds >= 2"):
        round_stats([_record(1, 1.0, 0.5, 4)])


def test_suites_are_registered_and_valid_configs():
    with pytest.raises(ConfigError, match=r"unknown bench suite 'nope'.*ml100k"):
        get_suite("nope")
    assert {"ml100k", "ml1m", "synthetic", "naive", "all"} <= set(SUITES)
    assert len(get_suite("all").cases) == sum(len(SUITES[s].cases) for s in SUITES if s != "all")
    for case in get_suite("all").cases:
        load_config(overrides=case.overrides)  # every override names a real key


TINY = Case("tiny", tuple(tiny_synthetic(40, 80, "rounds=3")))


@pytest.mark.slow
def test_tiny_case_runs_and_reports(tmp_path):
    # Execute
    results = run_cases([TINY], tmp_path)
    result = report("tiny", results, [("tiny", "tiny")])
    table = format_table(results, result["comparisons"])
    # Assert: the JSON report round-trips and holds sane figures ...
    data = json.loads(json.dumps(result))
    assert set(data["machine"]) >= {"cpu_count", "platform", "torch", "flwr", "date"}
    (case,) = data["cases"]
    assert case["name"] == "tiny" and "rounds=3" in case["overrides"]
    stats = case["stats"]
    assert stats["rounds_measured"] == 2 and stats["clients_per_round"] == 40
    assert stats["round_seconds_min"] > 0 and stats["train_seconds_median"] > 0
    assert math.isfinite(stats["overhead_ms_per_client"])
    assert stats["eval_seconds_median"] > 0 and case["peak_rss_mib"] > 0
    # Every client downloads dense C (no sparsity) as serialised, and uploads its touched rows.
    dense_record = 80 * 8 * 4 + 128 + len("item-global.values")
    assert stats["download_bytes_per_round"] == 40 * dense_record
    assert 0 < stats["upload_bytes_per_round"] < 40 * dense_record
    assert data["comparisons"][0]["round_seconds_median_ratio"] == pytest.approx(1.0)
    # ... and the table has one row for the case, under the header.
    header, _, row, *_ = table.splitlines()
    assert header.startswith("case") and "ovh ms/cl" in header
    assert row.split()[:2] == ["tiny", "40"]
