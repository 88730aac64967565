"""End to end: the real ServerApp and ClientApp in a Flower simulation on the Ray backend."""

import json

import pytest
import yaml

from fedrec.cli import simulate
from fedrec.config import load_config
from fedrec.results import read_rounds
from fedrec.state.budget import ram_store_path
from tests.factories import tiny_synthetic

TINY = tiny_synthetic(40, 80, "rounds=2")

SUMMARY_KEYS = {
    "dataset",
    "algorithm",
    "protocol",
    "rounds",
    "best_round",
    "val_hr10",
    "val_ndcg10",
    "test_hr10",
    "test_ndcg10",
    "round_seconds_median",
    "clients_per_round",
    "upload_bytes_per_round",
    "download_bytes_per_round",
    "peak_rss_mb",
}


@pytest.mark.slow
def test_two_round_simulation_is_complete_and_independent_of_nodes_and_store_placement(
    tmp_path,
):
    # Prepare
    one = load_config(
        overrides=[
            *TINY,
            f"output_dir={tmp_path}",
            "run_name=one",
            "federation.num_nodes=1",
        ]
    )
    three = load_config(
        overrides=[
            *TINY,
            f"output_dir={tmp_path}",
            "run_name=three",
            "federation.num_nodes=3",
            "federation.state_memory_mb=0",  # the client state store spills to disk
            "keep_client_state=true",
        ]
    )
    # Execute
    run_one, run_three = simulate(one), simulate(three)
    # Assert: the run folder is complete ...
    summary = json.loads((run_one / "summary.json").read_text())
    spilled = json.loads((run_three / "summary.json").read_text())
    assert summary["client_state"]["in_ram"] and not spilled["client_state"]["in_ram"]
    # A finished run's private state is deleted unless it is asked for.
    assert not (run_one / "client_state").exists()
    assert not ram_store_path(run_one, "one").exists()
    assert (run_three / "client_state").is_dir() and spilled["client_state"]["kept"]
    assert set(summary) >= SUMMARY_KEYS
    assert summary["clients_per_round"] == 40 and summary["rounds"] == 2
    assert yaml.safe_load((run_one / "config.yaml").read_text())["dataset"] == "synthetic"
    assert sorted(p.name for p in (run_one / "ranks").iterdir()) == [
        "round-0001.npz",
        "round-0002.npz",
    ]
    # ... and the numbers do not depend on how users were spread over nodes.
    rounds_one, rounds_three = read_rounds(run_one), read_rounds(run_three)
    assert [r["round"] for r in rounds_one] == [1, 2]
    for a, b in zip(rounds_one, rounds_three, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert a["test_sampled_hr10"] == b["test_sampled_hr10"]
        assert a["val_full_ndcg10"] == pytest.approx(b["val_full_ndcg10"], rel=1e-6)


@pytest.mark.slow
def test_a_fresh_run_never_reuses_a_folder_with_rounds_nor_a_stale_client_store(tmp_path):
    # Prepare: a finished run whose private state is then left where a killed run's would be
    import shutil

    from fedrec.config import ConfigError

    cfg = load_config(
        overrides=[*TINY, f"output_dir={tmp_path}", "run_name=again", "keep_client_state=true"]
    )
    first = simulate(cfg)
    before = json.loads((first / "summary.json").read_text())
    # Execute / Assert: a second fresh start in the same folder is refused ...
    with pytest.raises(ConfigError, match="already holds a run"):
        simulate(cfg)
    # ... and once the rounds are gone, the trained state left in RAM is not started from
    (first / "summary.json").unlink()
    (first / "metrics.jsonl").unlink()
    shutil.move(first / "client_state", ram_store_path(first, "again"))
    after = json.loads((simulate(cfg) / "summary.json").read_text())
    assert after["test_hr10"] == before["test_hr10"]
    assert after["val_hr10"] == before["val_hr10"]
