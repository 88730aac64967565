"""Typed experiment configuration and its conversions."""

from fedrec.config.load import (
    ConfigError,
    config_from_dict,
    config_to_yaml,
    from_run_config,
    load_config,
    read_mapping,
    to_run_config,
)
from fedrec.config.schema import (
    DataConfig,
    DeploymentConfig,
    EvalConfig,
    ExperimentConfig,
    FederationConfig,
    FedRAPConfig,
    SyntheticConfig,
)

__all__ = [
    "ConfigError",
    "DataConfig",
    "DeploymentConfig",
    "EvalConfig",
    "ExperimentConfig",
    "FedRAPConfig",
    "FederationConfig",
    "SyntheticConfig",
    "config_from_dict",
    "config_to_yaml",
    "from_run_config",
    "load_config",
    "read_mapping",
    "to_run_config",
]
