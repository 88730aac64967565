"""Krum and Multi-Krum (Blanchard et al., 2017): average the users most central to the others.

Distances are between the users' full local matrices, computed from their sparse updates
block by block; the selected users are averaged with their weights.
"""

from __future__ import annotations

import numpy as np

from fedrec.aggregation.rules import krum_select, pairwise_sq_distances, weighted_mean
from fedrec.config.schema import ExperimentConfig
from fedrec.config.strategy import KrumConfig
from strategies.rules import RoundInputs, Stateless, users_of


class KrumRule(Stateless):
    """Krum (``num_selected = 1``) or Multi-Krum."""

    needs_users = True

    def __init__(self, cfg: KrumConfig) -> None:
        self.cfg = cfg
        self.selected = np.zeros(0, dtype=np.int64)

    def aggregate(self, name: str, current: np.ndarray, inputs: RoundInputs) -> np.ndarray:
        """Return the weighted mean of the selected users' ``name``."""
        if current.ndim != 2:
            return inputs.mean[name]
        updates = users_of(inputs, name)
        distances = pairwise_sq_distances(updates, current)
        self.selected = krum_select(distances, self.cfg.num_malicious, self.cfg.num_selected)
        keep = np.zeros(updates.n_users, dtype=bool)
        keep[self.selected] = True
        return weighted_mean(updates.select(keep), current)


def krum(cfg: ExperimentConfig) -> KrumRule:
    """Build Krum / Multi-Krum with ``strategy.krum``."""
    return KrumRule(cfg.strategy.krum)
