"""Which settings two experiment configs disagree on, key by key."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from fedrec.config.load import load_config
from fedrec.config.schema import ExperimentConfig


def flat_config(cfg: ExperimentConfig) -> dict[str, Any]:
    """Return ``cfg`` as ``{"section.key": value}``."""
    container = OmegaConf.to_container(OmegaConf.structured(cfg))
    assert isinstance(container, dict)
    out: dict[str, Any] = {}
    _flatten(container, "", out)
    return out


def differing_keys(
    first: ExperimentConfig, second: ExperimentConfig, ignore: Iterable[str] = ()
) -> list[str]:
    """Return the sorted dotted keys whose values differ, except those under ``ignore``.

    ``ignore`` names top-level keys or sections (``"run_name"``, ``"data"``).
    """
    skip = frozenset(ignore)
    a, b = flat_config(first), flat_config(second)
    keys = (k for k in a.keys() | b.keys() if k.split(".")[0] not in skip)
    return sorted(k for k in keys if a.get(k) != b.get(k))


def saved_differences(
    run_dir: Path, cfg: ExperimentConfig, ignore: Iterable[str] = ()
) -> list[str]:
    """Return the keys on which ``cfg`` differs from the config saved in ``run_dir``.

    The saved ``config.yaml`` is read through today's schema, so keys added since it was written
    take their defaults.
    """
    return differing_keys(load_config(run_dir / "config.yaml"), cfg, ignore)


def _flatten(node: dict[Any, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, f"{name}.", out)
        else:
            out[name] = value
