"""A base model's parameters as flat per-user vectors: private ones and shared ones.

The client state store keeps one flat private vector per user, and the server one flat shared
vector; :class:`ParamLayout` maps between those and the model's named ``(U, ...)`` tensors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from fedrec.config.model import ModelConfig
from fedrec.models.registry import create_model


@dataclass(frozen=True)
class ParamLayout:
    """Names and per-user shapes of one part (private or shared) of a model's parameters."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    @property
    def size(self) -> int:
        """Return the number of floats per user."""
        return sum(_numel(shape) for shape in self.shapes)

    def unpack(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split ``(U, size)`` into named ``(U, *shape)`` views."""
        out, start = {}, 0
        for name, shape in zip(self.names, self.shapes, strict=True):
            stop = start + _numel(shape)
            out[name] = flat[:, start:stop].reshape(len(flat), *shape)
            start = stop
        return out

    def pack(self, tensors: dict[str, torch.Tensor], n_users: int) -> torch.Tensor:
        """Join named ``(U, *shape)`` tensors into ``(U, size)``."""
        if not self.names:
            return torch.zeros(n_users, 0)
        return torch.cat([tensors[n].reshape(n_users, -1) for n in self.names], dim=1)


@dataclass(frozen=True)
class ModelLayout:
    """The private and the shared part of a base model's parameters, and one initial draw."""

    private: ParamLayout
    shared: ParamLayout
    initial_private: torch.Tensor  # (size,) every user's start, as one copied model
    initial_shared: torch.Tensor  # (size,) the server's start


def model_layout(cfg: ModelConfig, dim: int, seed: int) -> ModelLayout:
    """Draw one single-user model with ``seed`` and split its parameters by ``shared``."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = create_model(cfg, 1, dim)
    params = dict(model.named_parameters())
    unknown = model.shared - set(params)
    if unknown:
        raise ValueError(f"model '{cfg.name}' declares unknown shared parameters {sorted(unknown)}")
    private = _layout([n for n in params if n not in model.shared], params)
    shared = _layout([n for n in params if n in model.shared], params)
    detached = {n: p.detach() for n, p in params.items()}
    return ModelLayout(
        private=private,
        shared=shared,
        initial_private=private.pack(detached, 1)[0].clone(),
        initial_shared=shared.pack(detached, 1)[0].clone(),
    )


def _layout(names: list[str], params: Mapping[str, torch.Tensor]) -> ParamLayout:
    return ParamLayout(tuple(names), tuple(tuple(params[n].shape[1:]) for n in names))


def _numel(shape: tuple[int, ...]) -> int:
    out = 1
    for side in shape:
        out *= side
    return out
