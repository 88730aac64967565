"""Coordinate-wise trimmed mean (Yin et al., 2018): drop the β tails, average the rest."""

from __future__ import annotations

import numpy as np

from fedrec.aggregation.rules import coordinate_rule, trimmed_mean
from fedrec.config.schema import ExperimentConfig
from strategies.rules import RoundInputs, Stateless, users_of


class TrimmedMeanRule(Stateless):
    """Coordinate-wise β-trimmed mean, unweighted."""

    needs_users = True

    def __init__(self, beta: float) -> None:
        self.beta = beta

    def aggregate(self, name: str, current: np.ndarray, inputs: RoundInputs) -> np.ndarray:
        """Return the trimmed mean of ``name``; 1-D arrays take the plain mean."""
        if current.ndim != 2:
            return inputs.mean[name]
        return coordinate_rule(users_of(inputs, name), current, trimmed_mean(self.beta))


def trimmed(cfg: ExperimentConfig) -> TrimmedMeanRule:
    """Build the trimmed mean with ``strategy.trimmed_mean.beta``."""
    return TrimmedMeanRule(cfg.strategy.trimmed_mean.beta)
