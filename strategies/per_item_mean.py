"""Per-item mean: each row of C is averaged over the users that updated it.

Unlike FedAvg, a rare item's row is not pulled towards the (weight-decayed) global value by the
many users that never trained it. Rows nobody trained take FedAvg's value.
"""

from __future__ import annotations

import numpy as np

from fedrec.aggregation.rules import per_item_mean
from fedrec.config.schema import ExperimentConfig
from strategies.rules import RoundInputs, Stateless, users_of


class PerItemMeanRule(Stateless):
    """Average every row over the users that touched it."""

    needs_users = True

    def aggregate(self, name: str, current: np.ndarray, inputs: RoundInputs) -> np.ndarray:
        """Return the per-row mean of ``name``; 1-D arrays take the plain mean."""
        if current.ndim != 2:
            return inputs.mean[name]
        return per_item_mean(users_of(inputs, name), current)


def per_item(cfg: ExperimentConfig) -> PerItemMeanRule:
    """Build the per-item mean."""
    return PerItemMeanRule()
