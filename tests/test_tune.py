"""fedrec tune: a tiny real search, the choice of the best trial, and what is written."""

import csv
import json
from pathlib import Path

import pytest
import yaml

from fedrec.cli import main
from fedrec.config import load_config
from fedrec.overrides import expand
from fedrec.search import Distribution, Search
from fedrec.tune import best_rows, write_results

TINY = """
name: tiny
output_dir: {out}
base: [dataset=synthetic, data.synthetic.n_users=40, data.synthetic.n_items=80,
       data.eval_negatives=30, fedrap.dim=8, fedrap.local_epochs=2, rounds=1, checkpoint_every=0]
algorithms: {{fedrap: [algorithm=fedrap], fedmf: [algorithm=fedmf]}}
space: {{fedrap.lr_head: {{loguniform: [0.05, 1.0]}}}}
extra_space: {{fedrap: {{fedrap.regulariser: {{choice: [l1, l2]}}}}}}
num_samples: 1
seed: 3
"""


@pytest.mark.slow
def test_tune_runs_every_algorithm_with_the_same_budget_and_writes_the_best(tmp_path, monkeypatch):
    # Prepare: a Ray address in the environment must not reach the trials' own Ray instances
    path = tmp_path / "search.yaml"
    path.write_text(TINY.format(out=tmp_path))
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    # Execute
    code = main(["tune", str(path)])
    # Assert
    out = tmp_path / "tiny"
    assert code == 0
    with (out / "trials.csv").open() as fh:
        trials = list(csv.DictReader(fh))
    assert sorted(t["algorithm"] for t in trials) == ["fedmf", "fedrap"]
    for trial in trials:
        assert trial["status"] == "ok", trial["error"]
        summary = json.loads((Path(trial["run"]) / "summary.json").read_text())
        assert float(trial["val_hr10"]) == summary["val_hr10"]
        assert 0.05 <= float(trial["fedrap.lr_head"]) <= 1.0
        assert summary["config"]["fedrap"]["lr_head"] == float(trial["fedrap.lr_head"])
        assert summary["config"]["seed"] == 3
    best = load_config(out / "best" / "fedrap.yaml")
    fedrap = next(t for t in trials if t["algorithm"] == "fedrap")
    assert best.algorithm == "fedrap" and best.fedrap.regulariser == fedrap["fedrap.regulariser"]
    assert best.fedrap.lr_head == float(fedrap["fedrap.lr_head"])
    assert load_config(out / "best" / "fedmf.yaml").algorithm == "fedmf"


@pytest.mark.slow
def test_the_reference_and_the_start_points_run_before_any_random_trial(tmp_path):
    # Prepare: two trials of FedRAP, whose reference lr_head is 0.5 and regulariser l1; the start
    # point changes lr_head only
    text = TINY.format(out=tmp_path).replace(", fedmf: [algorithm=fedmf]", "")
    text = text.replace("num_samples: 1", "num_samples: 2")
    path = tmp_path / "search.yaml"
    path.write_text(
        text + "reference_first: true\nstart_points: {fedrap: [{fedrap.lr_head: 0.05}]}\n"
    )
    # Execute
    code = main(["tune", str(path)])
    # Assert
    trials = list(csv.DictReader((tmp_path / "tiny" / "trials.csv").open()))
    configs = [json.loads((Path(t["run"]) / "summary.json").read_text())["config"] for t in trials]
    assert code == 0 and [t["status"] for t in trials] == ["ok", "ok"]
    assert sorted(c["fedrap"]["lr_head"] for c in configs) == [0.05, 0.5]
    assert [c["fedrap"]["regulariser"] for c in configs] == ["l1", "l1"]


def _row(algorithm, trial, objective, status="ok", error=""):
    return {
        "algorithm": algorithm,
        "trial": trial,
        "status": status,
        "val_hr10": objective,
        "fedrap.lr_head": 0.1 * (1 + int(trial[-1])),
        "error": error,
    }


def test_best_is_the_highest_validation_hr_and_the_first_on_ties():
    results = {
        "a": [_row("a", "t0", 0.3), _row("a", "t1", 0.5), _row("a", "t2", 0.5)],
        "b": [_row("b", "t0", None, "error", "boom"), _row("b", "t1", 0.2)],
    }
    best = best_rows(results)
    assert best["a"]["trial"] == "t1" and best["b"]["trial"] == "t1"


def test_an_algorithm_whose_trials_all_failed_is_an_error_with_their_reasons():
    with pytest.raises(RuntimeError, match="every trial of b failed: boom"):
        best_rows({"b": [_row("b", "t0", None, "error", "boom")]})


def test_results_and_a_best_config_that_run_and_compare_accept(tmp_path, monkeypatch):
    # Prepare
    search = Search(
        name="s",
        output_dir=tmp_path / "s",
        base=["dataset=synthetic", "rounds=3"],
        algorithms={"mf": ["algorithm=fedmf", "fedrap.dim=4"]},
        space={"fedrap.lr_head": Distribution("loguniform", (0.01, 1.0))},
        num_samples=2,
    )
    results = {"mf": [_row("mf", "t0", 0.25), _row("mf", "t1", 0.75)]}
    # Execute
    paths = write_results(search, results)
    # Assert
    assert [p.name for p in paths] == ["trials.csv", "best.csv", "mf.yaml"]
    with paths[0].open() as fh:
        assert [r["val_hr10"] for r in csv.DictReader(fh)] == ["0.25", "0.75"]
    best = paths[2]
    assert "best of 2 trials of mf by validation HR@10 = 0.7500" in best.read_text()
    cfg = load_config(best, ["dataset=synthetic"])
    assert (cfg.algorithm, cfg.fedrap.dim, cfg.fedrap.lr_head) == ("fedmf", 4, 0.2)
    assert cfg.rounds == 100  # the search's base stays out of the file
    assert expand([str(best)]) == ["algorithm=fedmf", "fedrap.dim=4", "fedrap.lr_head=0.2"]
    assert yaml.safe_load(best.read_text())["fedrap"]["lr_head"] == 0.2


def test_a_failed_trial_is_a_row_with_its_reason():
    from types import SimpleNamespace

    from fedrec.tune import _result_row

    result = SimpleNamespace(
        metrics={},
        path="/x/run_trial_ab12_00001_1_lr=0.1",
        error=RuntimeError("trial-ab12_00001: fedrec run exited 1:\nTraceback ..."),
        config={"fedrap.lr_head": 0.1},
    )
    row = _result_row("fedrap", result, ["fedrap.lr_head"])
    assert (row["status"], row["val_hr10"], row["fedrap.lr_head"]) == ("error", None, 0.1)
    assert row["error"] == "trial-ab12_00001: fedrec run exited 1:"


def test_the_command_refuses_an_unknown_search_key(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(TINY.format(out=tmp_path) + "trials: 5\n")
    assert main(["tune", str(path)]) == 2
    assert "unknown search keys ['trials']" in capsys.readouterr().err
