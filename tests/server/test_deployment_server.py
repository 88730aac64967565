"""The ServerApp of a deployment: no client data on the server, and guarded resumption."""

import numpy as np
import pytest

from fedrec.config import ConfigError, load_config
from fedrec.results import RunFolder
from server.app import _fresh_start
from server.resume import check_resumable


def test_deployment_server_sizes_c_from_the_config_without_reading_any_data(tmp_path):
    # Prepare: a dataset that cannot be loaded (csv without a path) proves nothing is read.
    cfg = load_config(
        overrides=[
            "dataset=csv",
            "deployment.enabled=true",
            "deployment.n_items=25",
            "fedrap.dim=6",
        ]
    )
    # Execute
    start = _fresh_start(RunFolder(tmp_path / "run"), cfg)
    # Assert
    assert start.server_round == 0
    assert start.global_arrays["item-global"].shape == (25, 6)
    assert np.isfinite(start.global_arrays["item-global"]).all()
    assert (tmp_path / "run" / "config.yaml").exists()


def test_resume_accepts_the_same_experiment_with_other_bookkeeping(tmp_path):
    cfg = load_config(overrides=["deployment.enabled=true", "deployment.n_items=25"])
    RunFolder(tmp_path).write_config(cfg)
    again = load_config(overrides=[*_same(), f"resume={tmp_path}", "rounds=200", "progress=false"])
    check_resumable(tmp_path, again)


def test_resume_with_another_experiment_is_refused_naming_the_keys(tmp_path):
    RunFolder(tmp_path).write_config(load_config(overrides=_same()))
    other = load_config(overrides=[*_same(), "seed=3", "fedrap.dim=16", f"resume={tmp_path}"])
    with pytest.raises(ConfigError, match=r"\['fedrap.dim', 'seed'\]"):
        check_resumable(tmp_path, other)


def test_resume_of_a_folder_without_a_saved_config_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"config\.yaml not found"):
        check_resumable(tmp_path, load_config(overrides=_same()))


def _same():
    return ["deployment.enabled=true", "deployment.n_items=25"]
