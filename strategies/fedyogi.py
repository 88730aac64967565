"""FedYogi: the server optimiser of Reddi et al. (2021) with the yogi second moment."""

from __future__ import annotations

from fedrec.aggregation.optimisers import yogi_moment
from fedrec.config.schema import ExperimentConfig
from strategies.adaptive import AdaptiveRule


def fedyogi(cfg: ExperimentConfig) -> AdaptiveRule:
    """Build FedYogi with ``strategy.fedyogi``."""
    return AdaptiveRule(cfg.strategy.fedyogi, yogi_moment)
