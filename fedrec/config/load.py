"""Build an :class:`ExperimentConfig` from defaults, a YAML file and ``key=value`` overrides.

This module is also the one boundary to Flower's flat ``run_config`` (:func:`to_run_config` and
:func:`from_run_config`); nothing else converts between the two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fedrec.config.client_dp import out_of_range
from fedrec.config.schema import ExperimentConfig

RUN_CONFIG_KEY = "experiment"


class ConfigError(ValueError):
    """A configuration key is unknown, has the wrong type, or a file cannot be read."""


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Merge the defaults, an optional YAML file and ``key=value`` overrides, in that order.

    Parameters
    ----------
    path : str or Path, optional
        Experiment YAML holding only what differs from the defaults.
    overrides : sequence of str
        Dotted ``key=value`` items, applied last.

    Returns
    -------
    ExperimentConfig
        The validated, frozen configuration.

    Raises
    ------
    ConfigError
        On an unknown key, a wrong type or value, or an unreadable file; the message names the key.
    """
    layers: list[DictConfig] = []
    if path is not None:
        layers.append(_read_yaml(Path(path)))
    bad = [item for item in overrides if "=" not in item]
    if bad:
        raise ConfigError(f"overrides must be key=value, got {bad}")
    layers.append(OmegaConf.from_dotlist(list(overrides)))
    return _merge(layers)


def config_from_dict(values: Mapping[str, Any]) -> ExperimentConfig:
    """Validate a nested mapping (as found in a saved ``config.yaml``) into a config."""
    return _merge([OmegaConf.create(dict(values))])


def config_to_yaml(config: ExperimentConfig) -> str:
    """Serialise a config to YAML (the form saved in every run folder)."""
    return OmegaConf.to_yaml(OmegaConf.structured(config))


def to_run_config(config: ExperimentConfig) -> dict[str, str]:
    """Flatten a config into Flower's ``run_config`` (one YAML string under one key)."""
    return {RUN_CONFIG_KEY: config_to_yaml(config)}


def from_run_config(run_config: Mapping[str, Any]) -> ExperimentConfig:
    """Rebuild the typed config from Flower's ``run_config``; an empty value means defaults."""
    text = str(run_config.get(RUN_CONFIG_KEY, "") or "")
    if not text.strip():
        return ExperimentConfig()
    if text.strip().endswith((".yaml", ".yml")):
        return load_config(text.strip())
    return _merge([_parse_yaml_text(text, "run_config")])


def read_mapping(path: str | Path, kind: str) -> dict[str, Any]:
    """Read a YAML file whose top level is a mapping (a grid, a search, an override file).

    Raises
    ------
    ConfigError
        If the file is missing, is not valid YAML, or is not a mapping; ``kind`` names the file
        in the message ("grid file", ...).
    """
    container = OmegaConf.to_container(_read_yaml(Path(path), kind))
    assert isinstance(container, dict)  # _parse_yaml_text refused anything but a mapping
    return {str(k): v for k, v in container.items()}


def _read_yaml(path: Path, kind: str = "config file") -> DictConfig:
    if not path.is_file():
        raise ConfigError(f"{kind} not found: {path}")
    return _parse_yaml_text(path.read_text(encoding="utf-8"), str(path))


def _parse_yaml_text(text: str, origin: str) -> DictConfig:
    try:
        loaded = OmegaConf.create(text)
    except Exception as exc:  # yaml's own errors are not OmegaConf exceptions
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from exc
    if not isinstance(loaded, DictConfig):
        raise ConfigError(f"{origin}: expected a mapping of keys at the top level")
    return loaded


def _merge(layers: Sequence[DictConfig]) -> ExperimentConfig:
    base = OmegaConf.structured(ExperimentConfig)
    try:
        merged = OmegaConf.merge(base, *layers)
        config = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "?"
        reason = str(exc).splitlines()[0]
        raise ConfigError(f"config key '{key}': {reason}") from exc
    except ValueError as exc:  # a section's own check (``__post_init__``) names its key
        raise ConfigError(str(exc)) from exc
    assert isinstance(config, ExperimentConfig)
    _check_ranges(config)
    _check_deployment(config)
    _check_dpsgd(config)
    return config


def _check_ranges(config: ExperimentConfig) -> None:
    checks = {
        "rounds": config.rounds >= 1,
        "checkpoint_every": config.checkpoint_every >= 0,
        "federation.num_nodes": config.federation.num_nodes >= 1,
        "federation.participation": 0.0 < config.federation.participation <= 1.0,
        "federation.clients_per_round": config.federation.clients_per_round >= 0,
        "federation.dropout": 0.0 <= config.federation.dropout < 1.0,
        "federation.cohort_size": config.federation.cohort_size >= 0,
        "federation.cohort_memory_mb": config.federation.cohort_memory_mb >= 1,
        "federation.state_memory_mb": config.federation.state_memory_mb >= 0,
        "federation.reply_timeout_s": config.federation.reply_timeout_s >= 0.0,
        "fedrap.dim": config.fedrap.dim >= 1,
        "fedrap.local_epochs": config.fedrap.local_epochs >= 1,
        "fedrap.batch_size": config.fedrap.batch_size >= 1,
        "fedrap.num_negatives": config.fedrap.num_negatives >= 0,
        "fedrap.local_lr_scale": config.fedrap.local_lr_scale >= 0.0,
        "fedrap.local_init_std": config.fedrap.local_init_std >= 0.0,
        "eval.top_k": config.eval.top_k >= 1,
        "eval.every": config.eval.every >= 1,
        "eval.patience": config.eval.patience >= 0,
        "eval.patience_from": config.eval.patience_from >= 0,
        "sparsity.threshold": config.sparsity.threshold >= 0.0,
        "sparsity.target_density": 0.0 <= config.sparsity.target_density <= 1.0,
        # A run that ends before its ramp never reaches its target density: nothing to select.
        "sparsity.ramp_rounds": 0 <= config.sparsity.ramp_rounds <= config.rounds,
        "sparsity.upload_density": 0.0 <= config.sparsity.upload_density <= 1.0,
        "attack.fraction": 0.0 <= config.attack.fraction < 1.0,
        "attack.boost": config.attack.boost >= 0.0,
        "strategy.trimmed_mean.beta": 0.0 <= config.strategy.trimmed_mean.beta < 0.5,
        "strategy.krum.num_selected": config.strategy.krum.num_selected >= 1,
    }
    wrong = [key for key, ok in checks.items() if not ok]
    wrong += out_of_range(config.client_dp, config.leakage)
    if wrong:
        raise ConfigError(f"config key '{wrong[0]}': value out of range")


# Algorithms whose client side runs on a device (one user, private state in a local folder).
DEPLOYABLE_ALGORITHMS = ("fedrap", "fedmf")


def _check_deployment(config: ExperimentConfig) -> None:
    if not config.deployment.enabled:
        return
    if config.deployment.n_items < 1:
        raise ConfigError(
            "config key 'deployment.n_items': the catalogue size is required in deployment "
            "(the server reads no client data to learn it)"
        )
    if config.algorithm not in DEPLOYABLE_ALGORITHMS:
        raise ConfigError(
            f"config key 'algorithm': '{config.algorithm}' cannot run on devices; "
            f"deployable: {list(DEPLOYABLE_ALGORITHMS)}"
        )
    if config.model.name != "affine":
        raise ConfigError("config key 'model.name': devices run the affine head only")
    if config.federation.clients_per_round > 0:
        raise ConfigError(
            "config key 'federation.clients_per_round': needs the whole population's draws, "
            "which no device has; use federation.participation in deployment"
        )


# Algorithms whose local training DP-SGD privatises (FedRAP's cohort trainer).
DPSGD_ALGORITHMS = ("fedrap", "fedmf")


def _check_dpsgd(config: ExperimentConfig) -> None:
    if not config.dpsgd.enabled:
        return
    if config.algorithm not in DPSGD_ALGORITHMS:
        raise ConfigError(
            f"config key 'dpsgd.enabled': DP-SGD privatises FedRAP's local training; "
            f"'{config.algorithm}' has none (use one of {list(DPSGD_ALGORITHMS)})"
        )
    if config.deployment.enabled:
        raise ConfigError(
            "config key 'dpsgd.enabled': DP-SGD runs in the simulation's cohort trainer; "
            "devices do not apply it yet"
        )
    if config.federation.strategy == "fedprox":
        raise ConfigError(
            "config key 'dpsgd.enabled': FedProx's proximal term is not privatised by DP-SGD; "
            "use another federation.strategy"
        )
    if config.model.name != "affine":
        raise ConfigError(
            "config key 'dpsgd.enabled': DP-SGD has per-sample gradients for the affine head "
            f"only, not for model.name='{config.model.name}'"
        )
    if config.fedrap.local_lr_scale != 1.0:
        raise ConfigError(
            "config key 'dpsgd.enabled': the DP-SGD step trains D at C's learning rate; "
            "leave fedrap.local_lr_scale at 1"
        )
    if config.fedrap.c_decay != "client":
        raise ConfigError(
            "config key 'dpsgd.enabled': the DP-SGD step decays C on the client; "
            "leave fedrap.c_decay at 'client'"
        )
