"""FedAvgM: server momentum on the pseudo-gradient ``Δ = mean − G`` (Hsu et al., 2019)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fedrec.aggregation.optimisers import Moments, momentum_step
from fedrec.config.schema import ExperimentConfig
from fedrec.config.strategy import FedAvgMConfig
from strategies.rules import RoundInputs


class FedAvgMRule:
    """``v ← βv + Δ``, ``G ← G + ηv``."""

    needs_users = False
    proximal_mu = 0.0

    def __init__(self, cfg: FedAvgMConfig) -> None:
        self.cfg = cfg
        self.moments = Moments()

    def aggregate(self, name: str, current: np.ndarray, inputs: RoundInputs) -> np.ndarray:
        """Return ``G + η·v`` for array ``name``."""
        delta = inputs.mean[name].astype(np.float64) - current
        new, self.moments.first[name] = momentum_step(
            current, delta, self.moments.first.get(name), self.cfg.server_lr, self.cfg.momentum
        )
        return new

    def state(self) -> dict[str, Any]:
        """Return the velocity."""
        return self.moments.state()

    def load_state(self, state: dict[str, Any], shapes: dict[str, tuple[int, ...]]) -> None:
        """Restore the velocity."""
        self.moments.load(state, shapes)


def fedavgm(cfg: ExperimentConfig) -> FedAvgMRule:
    """Build FedAvgM with ``strategy.fedavgm``."""
    return FedAvgMRule(cfg.strategy.fedavgm)
