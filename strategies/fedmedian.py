"""FedMedian: the coordinate-wise median of the users' local matrices (Yin et al., 2018).

Every user's full local C (rebuilt from its sparse update) takes part, unweighted.
"""

from __future__ import annotations

import numpy as np

from fedrec.aggregation.rules import coordinate_rule, median
from fedrec.config.schema import ExperimentConfig
from strategies.rules import RoundInputs, Stateless, users_of


class FedMedianRule(Stateless):
    """Coordinate-wise median."""

    needs_users = True

    def aggregate(self, name: str, current: np.ndarray, inputs: RoundInputs) -> np.ndarray:
        """Return the coordinate-wise median of ``name``; 1-D arrays take the plain mean."""
        if current.ndim != 2:
            return inputs.mean[name]
        return coordinate_rule(users_of(inputs, name), current, median)


def fedmedian(cfg: ExperimentConfig) -> FedMedianRule:
    """Build FedMedian."""
    return FedMedianRule()
