"""The λ/μ curriculum of FedRAP, and the per-round learning rates.

The reference code updates its weights *after* each round, so round 1 sees the initial value and
round ``r`` the schedule at ``r - 2`` (0-based ``iteration = r - 2``); we keep that one-round lag.
Its loss then ignores the schedule and uses the fixed λ, μ: ``reference`` reproduces exactly that.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from fedrec.config.schema import FedRAPConfig


def _tanh(it: int) -> float:
    return math.tanh(it / 10)


def _sin(it: int) -> float:
    return (math.sin(it / 10) + 1) / 2


def _frac(it: int) -> float:
    return 1 / (it + 1)


def _square(it: int) -> float:
    # Toggles between 0 and 1 after every iteration divisible by 5, starting from 0.
    return float((it // 5) % 2 == 0)


_SCHEDULES: dict[str, Callable[[int], float]] = {
    "tanh": _tanh,
    "sin": _sin,
    "frac": _frac,
    "square": _square,
}


def curriculum_factor(name: str, server_round: int) -> float:
    """Return the multiplier of λ and μ in 1-based ``server_round``.

    Parameters
    ----------
    name : str
        ``reference`` or ``fixed`` (always 1), or a schedule: ``tanh``, ``sin``, ``square``,
        ``frac`` (0 in round 1, then the schedule with the reference's one-round lag).
    server_round : int
        Round number, starting from 1.

    Returns
    -------
    float
        Factor in ``[0, 1]``.
    """
    if name in ("reference", "fixed"):
        return 1.0
    if name not in _SCHEDULES:
        raise ValueError(f"unknown curriculum '{name}'; known: {sorted(_SCHEDULES)}")
    return 0.0 if server_round <= 1 else _SCHEDULES[name](server_round - 2)


def round_weights(cfg: FedRAPConfig, server_round: int) -> tuple[float, float]:
    """Return (λ, μ) used by the loss in ``server_round``.

    The ablations without D or without C have no difference between them to regularise: λ = 0.
    """
    factor = curriculum_factor(cfg.curriculum, server_round)
    lam = cfg.lam if cfg.variant == "full" else 0.0
    return lam * factor, cfg.mu * factor


def round_learning_rates(cfg: FedRAPConfig, server_round: int) -> tuple[float, float]:
    """Return (head lr, embedding lr) at the start of ``server_round`` (per-round decay)."""
    decay = cfg.round_lr_decay ** (server_round - 1)
    return cfg.lr_head * decay, cfg.lr_embedding * decay


def client_c_decay(cfg: FedRAPConfig) -> float:
    """Return the weight decay clients apply to C (0 when the server decays it)."""
    return cfg.weight_decay if cfg.c_decay == "client" else 0.0


def server_c_decay(cfg: FedRAPConfig, server_round: int) -> float:
    """Return the factor the server multiplies the aggregated C by after ``server_round``.

    With ``c_decay=server`` clients leave C's untouched rows alone, so an upload carries only
    the rows the user trained (what client-level DP must clip). The server then applies the
    decay a client would have: that of a user with one batch per epoch running every local
    epoch, ``Π_t (1 − η β^t ω)``. It depends on the configuration only, never on the data.
    """
    if cfg.c_decay == "client":
        return 1.0
    lr = round_learning_rates(cfg, server_round)[1]
    factor = 1.0
    for step in range(cfg.local_epochs):
        factor *= 1 - lr * cfg.batch_lr_decay**step * cfg.weight_decay
    return factor
