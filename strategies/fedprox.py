"""FedProx: FedAvg on the server; clients add ``μ/2 · ‖C_u − G‖²`` to their local loss.

The server sends ``proximal-mu`` with every training message (as Flower's FedProx does); the
FedRAP trainer applies the term's gradient ``μ(C_u − G)`` at every local step.
"""

from __future__ import annotations

from fedrec.config.schema import ExperimentConfig
from strategies.fedavg import FedAvgRule


class FedProxRule(FedAvgRule):
    """FedAvg aggregation with a client proximal term."""

    def __init__(self, mu: float) -> None:
        self.proximal_mu = mu


def fedprox(cfg: ExperimentConfig) -> FedProxRule:
    """Build FedProx with ``strategy.fedprox.mu``."""
    return FedProxRule(cfg.strategy.fedprox.mu)
