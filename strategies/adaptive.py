"""FedAdam, FedYogi and FedAdagrad: adaptive server steps on ``Δ = mean − G`` (Reddi et al.).

The three differ only in the second moment; ``fedadam.py``, ``fedyogi.py`` and
``fedadagrad.py`` each pick one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fedrec.aggregation.optimisers import AdaptiveStep, Moments, SecondMoment, adaptive_step
from fedrec.config.strategy import AdaptiveConfig
from strategies.rules import RoundInputs


class AdaptiveRule:
    """A server optimiser with first and second moments."""

    needs_users = False
    proximal_mu = 0.0

    def __init__(self, cfg: AdaptiveConfig, second_moment: SecondMoment) -> None:
        self.step = AdaptiveStep(cfg.server_lr, cfg.beta1, cfg.beta2, cfg.tau)
        self.second_moment = second_moment
        self.moments = Moments()

    def aggregate(self, name: str, current: np.ndarray, inputs: RoundInputs) -> np.ndarray:
        """Return ``G + η·m / (√v + τ)`` for array ``name``."""
        delta = inputs.mean[name].astype(np.float64) - current
        previous = (self.moments.first.get(name), self.moments.second.get(name))
        new, m, v = adaptive_step(current, delta, previous, self.step, self.second_moment)
        self.moments.first[name], self.moments.second[name] = m, v
        return new

    def state(self) -> dict[str, Any]:
        """Return the moments."""
        return self.moments.state()

    def load_state(self, state: dict[str, Any], shapes: dict[str, tuple[int, ...]]) -> None:
        """Restore the moments."""
        self.moments.load(state, shapes)
