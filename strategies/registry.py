"""The strategy registry: names (``federation.strategy``) to factories, with clear errors."""

from __future__ import annotations

from collections.abc import Callable

from fedrec.config.schema import ExperimentConfig
from strategies.rules import Rule

RuleFactory = Callable[[ExperimentConfig], Rule]
_REGISTRY: dict[str, RuleFactory] = {}


def register_strategy(name: str, factory: RuleFactory) -> None:
    """Register the aggregation rule ``factory`` under ``name``; a duplicate is an error."""
    if name in _REGISTRY:
        raise ValueError(f"strategy '{name}' is already registered")
    _REGISTRY[name] = factory


def strategy_names() -> list[str]:
    """Return the registered names, sorted."""
    return sorted(_REGISTRY)


def create_rule(cfg: ExperimentConfig) -> Rule:
    """Build the rule ``cfg.federation.strategy`` names; an unknown name lists the known ones."""
    name = cfg.federation.strategy
    if name not in _REGISTRY:
        raise ValueError(f"unknown strategy '{name}'; known: {strategy_names()}")
    return _REGISTRY[name](cfg)
