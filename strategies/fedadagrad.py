"""FedAdagrad: the server optimiser of Reddi et al. (2021) with the adagrad second moment."""

from __future__ import annotations

from fedrec.aggregation.optimisers import adagrad_moment
from fedrec.config.schema import ExperimentConfig
from strategies.adaptive import AdaptiveRule


def fedadagrad(cfg: ExperimentConfig) -> AdaptiveRule:
    """Build FedAdagrad with ``strategy.fedadagrad``."""
    return AdaptiveRule(cfg.strategy.fedadagrad, adagrad_moment)
