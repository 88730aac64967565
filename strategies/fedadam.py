"""FedAdam: the server optimiser of Reddi et al. (2021) with the adam second moment."""

from __future__ import annotations

from fedrec.aggregation.optimisers import adam_moment
from fedrec.config.schema import ExperimentConfig
from strategies.adaptive import AdaptiveRule


def fedadam(cfg: ExperimentConfig) -> AdaptiveRule:
    """Build FedAdam with ``strategy.fedadam``."""
    return AdaptiveRule(cfg.strategy.fedadam, adam_moment)
