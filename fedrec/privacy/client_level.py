"""Client-level DP on sparse row updates: norms, clipping, noise, adaptive bound, accounting.

A user's update of the global matrix ``G`` is ``Δ_u = C_u − G``. With the sparse form of
:mod:`fedrec.aggregation.updates` (``C_u = s_u·G`` on untouched rows, trained values ``v`` on
touched rows ``T_u``), ``Δ_u`` is ``v − G_r`` on touched rows and ``(s_u − 1)·G_r`` on every other
row, so it is dense whenever ``s_u ≠ 1``. Everything here is exact on that dense ``Δ_u``
without materialising it:

* ``‖Δ_u‖² = Σ_{r∈T_u} ‖v_r − G_r‖² + (s_u − 1)²·(‖G‖² − Σ_{r∈T_u} ‖G_r‖²)``;
* clipping by ``f = min(1, S/‖Δ_u‖)`` gives ``G + f·Δ_u``, i.e. values ``G_r + f(v_r − G_r)`` and
  scale ``1 + f(s_u − 1)``: still sparse;
* ``Σ_u Δ_u = (Σ_u (s_u − 1))·G + Σ_u scatter(v − s_u·G_r)``.

ε comes from Opacus' RDP accountant only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from flwr.supercore.differential_privacy import compute_adaptive_noise_params

from fedrec.aggregation.updates import UserUpdates
from fedrec.config.client_dp import ClientDPConfig

_CHUNK_BYTES = 64 * 2**20


def update_norms(updates: UserUpdates, item_global: np.ndarray) -> np.ndarray:
    """Return ``‖C_u − G‖`` (Frobenius, over every row) of every user, shape ``(U,)``."""
    g = item_global.astype(np.float64)
    owners = updates.owners()
    base = g[updates.rows]
    touched = np.bincount(
        owners, weights=((updates.values - base) ** 2).sum(axis=1), minlength=updates.n_users
    )
    touched_g = np.bincount(owners, weights=(base**2).sum(axis=1), minlength=updates.n_users)
    untouched = (updates.scales - 1.0) ** 2 * np.maximum(float((g**2).sum()) - touched_g, 0.0)
    return np.asarray(np.sqrt(touched + untouched))


def clip_updates(
    updates: UserUpdates, item_global: np.ndarray, bound: float
) -> tuple[UserUpdates, np.ndarray]:
    """Clip every user's ``Δ_u`` to L2 norm ``bound``; return the clipped updates and the norms.

    The norms are those before clipping (adaptive clipping counts the ones within the bound).
    """
    norms = update_norms(updates, item_global)
    factor = np.minimum(1.0, bound / np.maximum(norms, 1e-300))
    base = item_global[updates.rows].astype(np.float64)
    f_row = factor[updates.owners(), None]
    values = (base + f_row * (updates.values - base)).astype(np.float32)
    clipped = UserUpdates(
        offsets=updates.offsets,
        rows=updates.rows,
        values=values,
        scales=1.0 + factor * (updates.scales - 1.0),
        weights=updates.weights,
    )
    return clipped, norms


def update_sum(updates: UserUpdates, item_global: np.ndarray) -> np.ndarray:
    """Return ``Σ_u (C_u − G)`` (unweighted), float64, shape of ``G``."""
    g = item_global.astype(np.float64)
    total = g * float((updates.scales - 1.0).sum())
    owners = updates.owners()
    np.add.at(total, updates.rows, updates.values - updates.scales[owners, None] * g[updates.rows])
    return total


def noisy_dense(
    updates: UserUpdates, item_global: np.ndarray, std: float, rng: np.random.Generator
) -> UserUpdates:
    """Return every user's full ``C_u + N(0, std²)`` as an upload of every row (local DP)."""
    n_items, dim = item_global.shape
    values = np.empty((updates.n_users * n_items, dim), dtype=np.float32)
    step = max(1, _CHUNK_BYTES // (n_items * dim * 8))  # users per chunk: bounded memory
    for lo in range(0, updates.n_users, step):
        part = updates.select(
            (np.arange(updates.n_users) >= lo) & (np.arange(updates.n_users) < lo + step)
        )
        full = part.dense(item_global) + rng.normal(0.0, std, (part.n_users, n_items, dim))
        values[lo * n_items : (lo + part.n_users) * n_items] = full.reshape(-1, dim)
    return UserUpdates(
        offsets=np.arange(updates.n_users + 1, dtype=np.int64) * n_items,
        rows=np.tile(np.arange(n_items, dtype=np.int64), updates.n_users),
        values=values,
        scales=np.ones(updates.n_users),
        weights=updates.weights,
    )


def noisy_rows(updates: UserUpdates, std: float, rng: np.random.Generator) -> UserUpdates:
    """Return the updates with ``N(0, std²)`` added to every uploaded entry (rows unchanged).

    Local DP for uploads whose rows are chosen without the user's data (``leakage.mitigation=
    subset``); the rows left out are released as ``s_u·G``, exactly as without noise.
    """
    noise = rng.normal(0.0, std, updates.values.shape)
    values = (updates.values + noise).astype(np.float32)
    return replace(updates, values=values)


@dataclass
class AdaptiveBound:
    """Andrew et al. (2021): move the bound towards the ``target`` quantile of update norms.

    Each round ``b̃ = (#{‖Δ_u‖ ≤ S} + N(0, count_std²)) / n`` estimates the unclipped share and
    ``S ← S·exp(−lr·(b̃ − target))``: too many unclipped updates shrink the bound.
    """

    bound: float
    target: float
    lr: float
    count_std: float

    def step(self, norms: np.ndarray, expected: float, rng: np.random.Generator) -> float:
        """Update the bound from this round's norms; return the noisy unclipped share."""
        unclipped = float((norms <= self.bound).sum()) + rng.normal(0.0, self.count_std)
        share = unclipped / expected
        self.bound *= math.exp(-self.lr * (share - self.target))
        return share


def noise_parameters(cfg: ClientDPConfig, expected: float) -> tuple[float, float]:
    """Return (σ on the updates, std of the unclipped count).

    Fixed clipping spends the whole ``noise_multiplier`` on the updates. Adaptive clipping also
    releases a noisy count, so the updates get the larger σ_Δ with
    ``σ_Δ^{-2} = σ^{-2} − (2·count_std)^{-2}`` (Andrew et al., Thm 1), computed by Flower's own
    ``compute_adaptive_noise_params`` (count_std defaults to ``expected / 20`` there too).
    """
    if cfg.clipping == "fixed":
        return cfg.noise_multiplier, 0.0
    count_std = cfg.count_noise if cfg.count_noise > 0 else None
    count, sigma = compute_adaptive_noise_params(cfg.noise_multiplier, expected, count_std)
    return float(sigma), float(count)


def client_level_epsilon(
    noise_multiplier: float, sample_rate: float, rounds: int, delta: float
) -> float:
    """Return ε at ``delta`` of ``rounds`` subsampled Gaussian releases (Opacus RDP).

    ``inf`` without noise; ``0`` without rounds.
    """
    if rounds == 0:
        return 0.0
    if noise_multiplier == 0:
        return math.inf
    # Imported here: Opacus pulls in scipy.stats and torch.distributed (1.8 s), and every node
    # process imports this module whether or not the run uses DP.
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = [(noise_multiplier, sample_rate, rounds)]
    return float(accountant.get_epsilon(delta=delta))


def expected_clients(clients_per_round: int, participation: float, population: int) -> float:
    """Return the expected number of sampled clients per round (the fixed denominator)."""
    if clients_per_round > 0:
        return float(min(clients_per_round, population))
    return participation * population


def client_dp_summary(
    cfg: ClientDPConfig, rounds: int, expected: float, population: int
) -> dict[str, Any]:
    """Return the ``client_dp`` entry of ``summary.json`` (empty when mode is none).

    Central mode: Poisson-style subsampling at rate ``expected / population`` amplifies privacy
    (the server's noise hides whether a client took part). Local mode: the server sees who
    uploads, so no amplification: rate 1, one release per round.
    """
    if cfg.mode == "none":
        return {}
    rate = expected / population if cfg.mode == "central" else 1.0
    eps = client_level_epsilon(cfg.noise_multiplier, rate, rounds, cfg.delta)
    entry = {
        "mode": cfg.mode,
        "clipping": cfg.clipping,
        "noise_multiplier": cfg.noise_multiplier,
        "clip_norm": cfg.clip_norm,
        "delta": cfg.delta,
        "sample_rate": rate,
        "rounds_accounted": rounds,
        "accountant": "opacus.rdp",
        "epsilon": eps if math.isfinite(eps) else None,
    }
    return {"client_dp": entry}
