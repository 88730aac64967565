"""The ``fedrec`` command line: ``fedrec run``'s Ray settings, and output to a closed pipe."""

import json
import os
import subprocess
import sys

from fedrec.cli import ray_backend_config
from fedrec.config import load_config


def test_a_run_without_an_address_starts_its_own_ray_and_one_with_it_joins_that_cluster():
    # Prepare
    alone = load_config(None, [])
    joined = load_config(None, ["federation.ray_address=127.0.0.1:6379"])
    # Execute
    alone_args = ray_backend_config(alone)["init_args"]
    joined_args = ray_backend_config(joined)["init_args"]
    # Assert: "local" keeps ray.init from joining a cluster some `ray start` left running.
    assert alone_args["address"] == "local"
    assert joined_args["address"] == "127.0.0.1:6379"


def test_an_address_given_to_the_run_joins_that_cluster_unless_the_config_names_one():
    # Prepare
    plain = load_config(None, [])
    named = load_config(None, ["federation.ray_address=10.0.0.1:6379"])
    # Execute
    given = ray_backend_config(plain, "127.0.0.1:7000")["init_args"]
    kept = ray_backend_config(named, "127.0.0.1:7000")["init_args"]
    # Assert
    assert given["address"] == "127.0.0.1:7000" and "include_dashboard" not in given
    assert kept["address"] == "10.0.0.1:6379"


def test_output_cut_short_by_its_reader_ends_without_a_traceback(tmp_path):
    # Prepare: a grid whose --status prints, and a pipe whose reader is already gone (`| head`)
    grid = tmp_path / "g.yaml"
    spec = {"output_dir": str(tmp_path), "seeds": [0, 1], "methods": {"a": []}}
    grid.write_text(json.dumps(spec))
    read_end, write_end = os.pipe()
    os.close(read_end)
    # Execute
    command = [sys.executable, "-m", "fedrec.cli", "compare", str(grid), "--status"]
    done = subprocess.run(command, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    os.close(write_end)
    # Assert
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr
