"""FedAvg: the new global arrays are the (weighted) mean of the users' local arrays.

Weights are ``federation.aggregation``: ``mean`` (every user 1, the reference's choice and the
default) or ``weighted`` (by training examples). Nodes pre-sum their users, so this is exactly
the mean over participants that :class:`strategies.global_mean.GlobalMean` computes.
"""

from __future__ import annotations

import numpy as np

from fedrec.config.schema import ExperimentConfig
from strategies.rules import RoundInputs, Stateless


class FedAvgRule(Stateless):
    """Return the users' mean."""

    needs_users = False

    def aggregate(self, name: str, current: np.ndarray, inputs: RoundInputs) -> np.ndarray:
        """Return the mean of ``name`` over the round's users."""
        return inputs.mean[name]


def fedavg(cfg: ExperimentConfig) -> FedAvgRule:
    """Build FedAvg."""
    return FedAvgRule()
