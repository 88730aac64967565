"""Validation of the deployment settings at load time."""

import pytest

from fedrec.config import ConfigError, load_config


def test_deployment_needs_the_catalogue_size():
    with pytest.raises(ConfigError, match=r"'deployment\.n_items': the catalogue size is required"):
        load_config(overrides=["deployment.enabled=true"])


@pytest.mark.parametrize(
    ("override", "key"),
    [("algorithm=mostpop", "'algorithm'"), ("federation.clients_per_round=5", "clients_per_round")],
)
def test_settings_no_device_can_honour_are_refused(override, key):
    with pytest.raises(ConfigError, match=key):
        load_config(overrides=["deployment.enabled=true", "deployment.n_items=10", override])


def test_a_valid_deployment_loads_and_simulation_ignores_the_section():
    cfg = load_config(overrides=["deployment.enabled=true", "deployment.n_items=1682"])
    assert cfg.deployment.n_items == 1682
    assert not load_config(overrides=["algorithm=mostpop"]).deployment.enabled
