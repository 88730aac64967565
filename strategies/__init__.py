"""Flower strategies for fedrec: one aggregation rule per module, chosen by name.

``federation.strategy`` names the rule; :func:`create_strategy` wraps it in
:class:`~strategies.rows.RowStrategy`, the one Flower strategy that speaks sparse row updates.
"""

from functools import partial

from fedrec.algorithms.fedrap.curriculum import server_c_decay
from fedrec.config.schema import ExperimentConfig
from strategies.dp import with_client_dp
from strategies.fedadagrad import fedadagrad
from strategies.fedadam import fedadam
from strategies.fedavg import fedavg
from strategies.fedavgm import fedavgm
from strategies.fedmedian import fedmedian
from strategies.fedprox import fedprox
from strategies.fedyogi import fedyogi
from strategies.global_mean import GlobalMean
from strategies.krum import krum
from strategies.per_item_mean import per_item
from strategies.registry import create_rule, register_strategy, strategy_names
from strategies.rows import RowStrategy, StrategySettings
from strategies.trimmed_mean import trimmed

register_strategy("fedavg", fedavg)
register_strategy("fedprox", fedprox)
register_strategy("per_item_mean", per_item)
register_strategy("fedavgm", fedavgm)
register_strategy("fedadam", fedadam)
register_strategy("fedyogi", fedyogi)
register_strategy("fedadagrad", fedadagrad)
register_strategy("fedmedian", fedmedian)
register_strategy("trimmed_mean", trimmed)
register_strategy("krum", krum)


def create_strategy(
    cfg: ExperimentConfig, n_real_users: int | None = None, population: int | None = None
) -> RowStrategy:
    """Build the configured strategy (``federation.strategy``), with client-level DP if on.

    ``population`` (all clients, fake ones included; default ``n_real_users``, else the number
    of nodes) sets client-level DP's expected number of clients per round.
    """
    settings = StrategySettings(
        num_nodes=cfg.federation.num_nodes,
        top_k=cfg.eval.top_k,
        sparsity=cfg.sparsity,
        n_real_users=n_real_users,
        item_decay=partial(server_c_decay, cfg.fedrap),
    )
    clients = population or n_real_users or cfg.federation.num_nodes
    return RowStrategy(with_client_dp(create_rule(cfg), cfg, clients), settings)


__all__ = [
    "GlobalMean",
    "RowStrategy",
    "StrategySettings",
    "create_strategy",
    "register_strategy",
    "strategy_names",
]
