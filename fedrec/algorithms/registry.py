"""The algorithm registry: names to factories, with clear errors."""

from __future__ import annotations

from collections.abc import Callable

from fedrec.algorithms.base import Algorithm
from fedrec.config.schema import ExperimentConfig

AlgorithmFactory = Callable[[ExperimentConfig], Algorithm]
_REGISTRY: dict[str, AlgorithmFactory] = {}


def register_algorithm(name: str, factory: AlgorithmFactory) -> None:
    """Register ``factory`` under ``name``; a duplicate name is an error."""
    if name in _REGISTRY:
        raise ValueError(f"algorithm '{name}' is already registered")
    _REGISTRY[name] = factory


def algorithm_names() -> list[str]:
    """Return the registered names, sorted."""
    return sorted(_REGISTRY)


def create_algorithm(cfg: ExperimentConfig) -> Algorithm:
    """Build the algorithm ``cfg.algorithm`` names; an unknown name lists the known ones."""
    if cfg.algorithm not in _REGISTRY:
        raise ValueError(f"unknown algorithm '{cfg.algorithm}'; known: {algorithm_names()}")
    return _REGISTRY[cfg.algorithm](cfg)
