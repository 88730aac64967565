"""The base-model registry: names to ``BaseRecommender`` classes, with clear errors."""

from __future__ import annotations

from fedrec.config.model import ModelConfig
from fedrec.models.base import BaseRecommender

_REGISTRY: dict[str, type[BaseRecommender]] = {}


def register_model(name: str, model: type[BaseRecommender]) -> None:
    """Register ``model`` under ``name``; a duplicate name is an error."""
    if name in _REGISTRY:
        raise ValueError(f"base model '{name}' is already registered")
    _REGISTRY[name] = model


def model_names() -> list[str]:
    """Return the registered base-model names, sorted."""
    return sorted(_REGISTRY)


def model_class(cfg: ModelConfig) -> type[BaseRecommender]:
    """Return the class ``cfg.name`` names; an unknown name lists the known ones."""
    if cfg.name not in _REGISTRY:
        raise ValueError(f"unknown base model '{cfg.name}' (model.name); known: {model_names()}")
    if any(width < 1 for width in cfg.mlp_layers):
        raise ValueError(f"model.mlp_layers must be positive widths, got {cfg.mlp_layers}")
    return _REGISTRY[cfg.name]


def create_model(cfg: ModelConfig, n_users: int, dim: int) -> BaseRecommender:
    """Build the base model ``cfg.name`` for a cohort of ``n_users`` users."""
    return model_class(cfg)(n_users, dim, cfg)
