"""Runs as subprocesses: their environment, their logs, and failures that spare the others."""

import os
import sys
from pathlib import Path

import pytest

import fedrec
from fedrec.runs import RunJob, run_environment, run_one_by_one, run_side_by_side


def test_runs_get_our_environment_without_a_ray_address(monkeypatch):
    # Prepare
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    # Execute
    env = run_environment()
    # Assert
    assert "RAY_ADDRESS" not in env and env["HOME"] == os.environ["HOME"]
    root = str(Path(fedrec.__file__).resolve().parents[1])
    assert env["PYTHONPATH"].split(os.pathsep) == [root, "/elsewhere"]


def test_every_failed_run_is_named_with_its_log_after_all_ran(tmp_path):
    # Prepare: two runs that fail at their config
    jobs = [
        RunJob(f"bad-{i}", (f"fedrap.no_such_key_{i}=1",), tmp_path / f"bad-{i}.log")
        for i in range(2)
    ]
    # Execute
    with pytest.raises(RuntimeError) as failure:
        run_side_by_side(jobs, workers=2)
    # Assert: both ran (each logged its command and its own error), both are named
    message = str(failure.value)
    assert "2 of 2 runs failed" in message
    for i, job in enumerate(jobs):
        log = job.log.read_text()
        assert log.startswith(f"{sys.executable} -m fedrec.cli run")
        assert f"no_such_key_{i}" in log
        assert f"- bad-{i} (log: {job.log})" in message


def test_at_least_one_worker_is_required(tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        run_side_by_side([RunJob("x", (), tmp_path / "x.log")], workers=0)


def test_runs_one_by_one_share_one_cluster_unless_their_config_names_one(tmp_path, monkeypatch):
    # Prepare: a fake cluster and runs that record where they ran
    import contextlib

    import fedrec.cli
    import fedrec.runs
    from fedrec.config import load_config

    started, ran = [], []

    @contextlib.contextmanager
    def fake_cluster(log):
        started.append(log)
        yield "127.0.0.1:1"

    monkeypatch.setattr(fedrec.runs, "own_cluster", fake_cluster)
    monkeypatch.setattr(fedrec.cli, "simulate", lambda cfg, ray_address="": ran.append(ray_address))
    plain, named = load_config(None, []), load_config(None, ["federation.ray_address=h:2"])
    # Execute
    run_one_by_one([plain, plain], tmp_path / "head.log")
    run_one_by_one([named])
    run_one_by_one([plain])
    # Assert: one cluster for the first two; none for a run that names its own, or when not asked
    assert started == [tmp_path / "head.log"]
    assert ran == ["127.0.0.1:1", "127.0.0.1:1", "", ""]
