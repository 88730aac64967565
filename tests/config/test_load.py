import pytest

from fedrec.config import (
    ConfigError,
    ExperimentConfig,
    config_from_dict,
    from_run_config,
    load_config,
    to_run_config,
)


def test_defaults_are_the_reference_settings():
    cfg = load_config()
    assert cfg.dataset == "ml-100k" and cfg.protocol == "strict" and cfg.rounds == 100
    assert (cfg.fedrap.dim, cfg.fedrap.lr_head, cfg.fedrap.lr_embedding) == (
        32,
        0.5,
        200.0,
    )
    assert (cfg.fedrap.local_epochs, cfg.fedrap.batch_size) == (10, 2048)
    assert (cfg.fedrap.lam, cfg.fedrap.mu, cfg.fedrap.weight_decay) == (0.1, 0.1, 1e-4)


def test_yaml_then_command_line_override_in_that_order(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("rounds: 7\nfedrap:\n  lam: 0.3\n")
    cfg = load_config(path, ["rounds=9"])
    assert cfg.rounds == 9 and cfg.fedrap.lam == 0.3


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("nope=1", "nope"),
        ("fedrap.lr_head=fast", "fedrap.lr_head"),
        ("protocol=loose", "protocol"),
        ("rounds=0", "rounds"),
        ("federation.participation=1.5", "federation.participation"),
        ("sparsity.ramp_rounds=-1", "sparsity.ramp_rounds"),
        ("sparsity.ramp_rounds=100000", "sparsity.ramp_rounds"),  # longer than the run
    ],
)
def test_bad_keys_and_values_are_errors_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(overrides=[override])


def test_unknown_key_in_yaml_file_is_an_error(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("fedrap:\n  lamda: 0.3\n")
    with pytest.raises(ConfigError, match="lamda"):
        load_config(path)


def test_missing_and_malformed_files_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rounds: [1,\n")
    with pytest.raises(ConfigError, match="YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="key=value"):
        load_config(overrides=["rounds"])


def test_run_config_round_trip_is_lossless():
    cfg = load_config(overrides=["dataset=synthetic", "fedrap.mu=0.05", "seed=4"])
    assert from_run_config(to_run_config(cfg)) == cfg
    assert from_run_config({}) == ExperimentConfig()
    assert config_from_dict({"rounds": 3}).rounds == 3


@pytest.mark.parametrize(
    ("override", "key"), [("algorithm=fedmff", "algorithm"), ("dataset=ml-10m", "dataset")]
)
def test_unknown_names_are_refused_before_a_run_starts(override, key):
    from fedrec.cli import resolve_config

    with pytest.raises(ConfigError, match=f"'{key}'.*known"):
        resolve_config(None, [override])
