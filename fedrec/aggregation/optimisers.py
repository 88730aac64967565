"""Server optimisers on the pseudo-gradient ``Δ = mean_u C_u − G`` (Reddi et al., 2021).

``Δ`` is exactly as sparse as the users' updates allow: zero where ``G`` is zero and nobody
trained. Moments are float64 arrays of ``G``'s shape, kept between rounds and checkpointed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Moments:
    """First and second moments of a server optimiser (empty before round 1)."""

    first: dict[str, np.ndarray] = field(default_factory=dict)
    second: dict[str, np.ndarray] = field(default_factory=dict)

    def state(self) -> dict[str, dict[str, list[float]]]:
        """Return the moments as JSON-serialisable lists (for checkpoints)."""
        return {
            "first": {k: v.ravel().tolist() for k, v in self.first.items()},
            "second": {k: v.ravel().tolist() for k, v in self.second.items()},
        }

    def load(
        self, state: dict[str, dict[str, list[float]]], shapes: dict[str, tuple[int, ...]]
    ) -> None:
        """Restore moments saved by :meth:`state`."""
        self.first = {
            k: np.asarray(v).reshape(shapes[k]) for k, v in state.get("first", {}).items()
        }
        self.second = {
            k: np.asarray(v).reshape(shapes[k]) for k, v in state.get("second", {}).items()
        }


def momentum_step(
    current: np.ndarray, delta: np.ndarray, velocity: np.ndarray | None, lr: float, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """FedAvgM: ``v ← β·v + Δ``, ``G ← G + η·v``; returns (new G, new v)."""
    v = delta if velocity is None else beta * velocity + delta
    return (current + lr * v).astype(np.float32), v


@dataclass(frozen=True)
class AdaptiveStep:
    """Hyperparameters of FedAdam / FedYogi / FedAdagrad."""

    lr: float
    beta1: float
    beta2: float
    tau: float


SecondMoment = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def adagrad_moment(v: np.ndarray, sq: np.ndarray, beta2: float) -> np.ndarray:
    """FedAdagrad: ``v + Δ²``."""
    out: np.ndarray = v + sq
    return out


def adam_moment(v: np.ndarray, sq: np.ndarray, beta2: float) -> np.ndarray:
    """FedAdam: ``β₂v + (1 − β₂)Δ²``."""
    out: np.ndarray = beta2 * v + (1 - beta2) * sq
    return out


def yogi_moment(v: np.ndarray, sq: np.ndarray, beta2: float) -> np.ndarray:
    """FedYogi: ``v − (1 − β₂)Δ²·sign(v − Δ²)``."""
    out: np.ndarray = v - (1 - beta2) * sq * np.sign(v - sq)
    return out


def adaptive_step(
    current: np.ndarray,
    delta: np.ndarray,
    moments: tuple[np.ndarray | None, np.ndarray | None],
    hp: AdaptiveStep,
    second_moment: SecondMoment,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One FedAdam/FedYogi/FedAdagrad step; returns (new G, first moment, second moment).

    ``m ← β₁m + (1 − β₁)Δ``, ``v ← second_moment(v, Δ², β₂)``, ``G ← G + η·m / (√v + τ)``.
    Moments start at zero (``v`` at ``τ²``, as in Flower).
    """
    first, second = moments
    m = np.zeros_like(delta) if first is None else first
    v = np.full_like(delta, hp.tau**2) if second is None else second
    m = hp.beta1 * m + (1 - hp.beta1) * delta
    v = second_moment(v, delta**2, hp.beta2)
    new = current + hp.lr * m / (np.sqrt(v) + hp.tau)
    return new.astype(np.float32), m, v
