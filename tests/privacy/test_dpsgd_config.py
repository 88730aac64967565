"""The ``dpsgd`` section: defaults, and clear errors for values no DP-SGD run can use."""

import pytest

from fedrec.config import ConfigError, load_config
from fedrec.config.dpsgd import DPSGDConfig


def test_dpsgd_is_off_by_default_with_usual_settings():
    cfg = load_config().dpsgd
    assert not cfg.enabled
    assert (cfg.delta, cfg.accountant, cfg.sampling) == (1e-5, "rdp", "poisson")


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("dpsgd.noise_multiplier=-0.5", "dpsgd.noise_multiplier"),
        ("dpsgd.max_grad_norm=0", "dpsgd.max_grad_norm"),
        ("dpsgd.max_grad_norm=-1", "dpsgd.max_grad_norm"),
        ("dpsgd.delta=0", "dpsgd.delta"),
        ("dpsgd.delta=1", "dpsgd.delta"),
        ("dpsgd.delta=1.5", "dpsgd.delta"),
        ("dpsgd.accountant=gdp", "dpsgd.accountant"),
        ("dpsgd.sampling=fixed", "dpsgd.sampling"),
    ],
)
def test_bad_values_are_config_errors_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(overrides=[override])


def test_direct_construction_is_checked_too():
    with pytest.raises(ValueError, match="noise_multiplier"):
        DPSGDConfig(noise_multiplier=-1.0)


@pytest.mark.parametrize(
    "overrides",
    [
        ["algorithm=mostpop", "dpsgd.enabled=true"],
        ["deployment.enabled=true", "deployment.n_items=10", "dpsgd.enabled=true"],
        ["federation.strategy=fedprox", "dpsgd.enabled=true"],
        ["model.name=mf", "dpsgd.enabled=true"],
        ["fedrap.local_lr_scale=0.1", "dpsgd.enabled=true"],
        ["fedrap.c_decay=server", "dpsgd.enabled=true"],
    ],
)
def test_dpsgd_is_refused_where_it_would_not_apply(overrides):
    with pytest.raises(ConfigError, match=r"dpsgd\.enabled"):
        load_config(overrides=overrides)
