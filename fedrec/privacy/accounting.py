"""ε of record-level DP-SGD per user, from Opacus' accountants (RDP or PRV) only.

A user that took ``T`` DP-SGD steps, each Poisson-subsampling its samples at rate ``q`` with
noise multiplier ``σ``, has the accountant history ``[(σ, q, T)]``; Opacus' accountant converts it
to ε at δ. Users with the same history share one computation.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import numpy as np

from fedrec.config.dpsgd import DPSGDConfig
from fedrec.privacy.ledger import read_ledgers


def epsilon(accountant: str, noise: float, sample_rate: float, steps: int, delta: float) -> float:
    """Return ε at ``delta`` after ``steps`` subsampled Gaussian steps (Opacus' accountant).

    Zero steps spend nothing (ε = 0); zero noise protects nothing (ε = ∞).
    """
    if steps == 0:
        return 0.0
    if noise == 0:
        return float("inf")
    from opacus.accountants import create_accountant  # 1.8 s to import; most runs never call this

    acc = create_accountant(mechanism=accountant)
    acc.history = [(noise, sample_rate, steps)]
    with np.errstate(divide="ignore"):  # PRV takes log(1 − q), −∞ at q = 1, and handles it
        return float(acc.get_epsilon(delta=delta))


def user_epsilons(ledger: np.ndarray, cfg: DPSGDConfig) -> np.ndarray:
    """Return ε at ``cfg.delta`` of every ledger entry (one accountant call per distinct entry)."""
    keys = np.stack(
        [ledger["noise"], ledger["sample_rate"], ledger["steps"].astype(np.float64)], axis=1
    )
    distinct, inverse = np.unique(keys, axis=0, return_inverse=True)
    values = [
        epsilon(cfg.accountant, float(noise), float(rate), int(steps), cfg.delta)
        for noise, rate, steps in distinct
    ]
    return np.asarray(values, dtype=np.float64)[inverse.reshape(-1)]


def record_level_summary(cfg: DPSGDConfig, state_dir: Path) -> dict[str, Any]:
    """Return the ``dpsgd`` entry of ``summary.json`` (empty when DP-SGD is off).

    ε is reported at ``cfg.delta`` over the users that trained at least once: the maximum (the
    guarantee every user has) and the median.
    """
    if not cfg.enabled:
        return {}
    ledger = read_ledgers(state_dir)
    trained = ledger[ledger["steps"] > 0]
    eps = user_epsilons(trained, cfg) if len(trained) else np.zeros(0)
    entry: dict[str, Any] = {
        "accountant": cfg.accountant,
        "delta": cfg.delta,
        "noise_multiplier": cfg.noise_multiplier,
        "max_grad_norm": cfg.max_grad_norm,
        "sampling": cfg.sampling,
        "users_accounted": len(trained),
        "epsilon_max": float(eps.max()) if len(eps) else None,
        "epsilon_median": float(statistics.median(eps.tolist())) if len(eps) else None,
        "steps_max": int(trained["steps"].max()) if len(trained) else 0,
    }
    return {"dpsgd": entry}
