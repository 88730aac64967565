"""Typed settings of client-level differential privacy and of upload-leakage mitigations.

``client_dp.*`` bounds each client's contribution to the global view (DP-FedAvg, McMahan et al.,
2018; adaptive clipping, Andrew et al., 2021); ``leakage.*`` chooses what rows a client uploads
and which round the server records for ``fedrec audit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ClientDPMode = Literal["none", "central", "local"]
Clipping = Literal["fixed", "adaptive"]
Mitigation = Literal["touched", "decoys", "fixed", "dense", "subset"]


@dataclass(frozen=True)
class ClientDPConfig:
    """Client-level DP on the global part (FedRAP's C).

    Attributes
    ----------
    mode : {"none", "central", "local"}
        ``central``: the server clips every client's update ``Δ_u = C_u − G`` to ``clip_norm``
        and adds ``N(0, σ²S²)`` to their sum; ``local``: each client clips and noises its own
        update before upload.
    clipping : {"fixed", "adaptive"}
        ``adaptive`` moves the bound towards the ``target_quantile`` of update norms
        (central mode only).
    noise_multiplier : float
        σ: noise std over the clipping bound.
    clip_norm : float
        S, the (initial) L2 bound of one client's update.
    target_quantile : float
        Adaptive: share of updates that should stay unclipped (Andrew et al.'s γ).
    clip_lr : float
        Adaptive: step of the geometric update ``S ← S·exp(−η(b̃ − γ))``.
    count_noise : float
        Adaptive: std of the noise on the unclipped count (0: expected clients / 20).
    delta : float
        δ at which ε is reported.
    """

    mode: ClientDPMode = "none"
    clipping: Clipping = "fixed"
    noise_multiplier: float = 1.0
    clip_norm: float = 1.0
    target_quantile: float = 0.5
    clip_lr: float = 0.2
    count_noise: float = 0.0
    delta: float = 1e-5


@dataclass(frozen=True)
class LeakageConfig:
    """What rows a client uploads, and which round the server records for the audit.

    Attributes
    ----------
    mitigation : {"touched", "decoys", "fixed", "dense", "subset"}
        ``touched``: the rows trained this round (positives and sampled negatives);
        ``decoys``: plus ``decoy_ratio`` × as many random other rows with plausible values;
        ``fixed``: exactly ``fixed_rows`` rows (padded with decoys, or a random subset);
        ``dense``: every row;
        ``subset``: the same ``subset_rows`` public random rows for every user, drawn anew
        each round from the seed and round alone (trained rows outside it are not uploaded).
    decoy_ratio : float
        Decoys per touched row.
    fixed_rows : int
        Rows per upload under ``fixed``.
    subset_rows : int
        Rows per upload under ``subset``.
    record_round : int
        Round whose per-user uploads the server saves for ``fedrec audit`` (0: none).
    """

    mitigation: Mitigation = "touched"
    decoy_ratio: float = 1.0
    fixed_rows: int = 500
    subset_rows: int = 1000
    record_round: int = 0


def out_of_range(dp: ClientDPConfig, leakage: LeakageConfig) -> list[str]:
    """Return the keys of ``client_dp.*`` and ``leakage.*`` whose value is out of range."""
    checks = {
        "client_dp.noise_multiplier": dp.noise_multiplier >= 0.0,
        "client_dp.clip_norm": dp.clip_norm > 0.0,
        "client_dp.target_quantile": 0.0 <= dp.target_quantile <= 1.0,
        "client_dp.clip_lr": dp.clip_lr > 0.0,
        "client_dp.count_noise": dp.count_noise >= 0.0,
        "client_dp.delta": 0.0 < dp.delta < 1.0,
        "leakage.decoy_ratio": leakage.decoy_ratio >= 0.0,
        "leakage.fixed_rows": leakage.fixed_rows >= 1,
        "leakage.subset_rows": leakage.subset_rows >= 1,
        "leakage.record_round": leakage.record_round >= 0,
    }
    return [key for key, ok in checks.items() if not ok]
