"""Client-level differential privacy as a wrapper around any aggregation rule.

It follows Flower's ``DifferentialPrivacyServerSide{Fixed,Adaptive}Clipping`` (central) and
``LocalDpMod`` (local), on sparse row updates:

* **central**: the server clips every user's ``Δ_u = C_u − G`` to ``S`` (exactly, untouched
  rows' ``(s_u − 1)·G`` included, :mod:`fedrec.privacy.client_level`), adds ``N(0, σ²S²)`` to
  every entry of ``Σ_u Δ_u`` and divides by the *expected* number of sampled clients ``n``, a
  fixed denominator, as DP-FedAvg's calibration needs (Flower divides by a fixed
  ``num_sampled_clients`` too). The noisy mean ``G + (ΣΔ + noise)/n`` is handed to the wrapped
  rule; server optimisers on it are post-processing. Rules that do not average with that fixed
  denominator (per-item mean, median, trimmed mean, Krum) have another sensitivity and are
  refused.
* **local**: each client clips and adds ``N(0, σ²S²)`` to its own update before upload
  (:mod:`fedrec.algorithms.fedrap.protect`); whatever the server does next is post-processing,
  so any rule composes.

The noisy aggregate is dense; the strategy's L1 step after it (``sparsity.*``) is
post-processing and keeps downloads sparse at no privacy cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fedrec import wire
from fedrec.config.client_dp import ClientDPConfig
from fedrec.config.schema import ExperimentConfig
from fedrec.privacy.client_level import (
    AdaptiveBound,
    clip_updates,
    expected_clients,
    noise_parameters,
    update_sum,
)
from strategies.rules import RoundInputs, Rule, users_of


class ClientLevelDP:
    """Wrap ``inner`` with client-level DP (see the module docstring).

    Parameters
    ----------
    inner : Rule
        The aggregation rule; in central mode it must not need per-user updates.
    cfg : ClientDPConfig
        Mode, clipping and noise.
    expected : float
        Expected number of sampled clients per round (the fixed denominator).
    seed : int
        Seed of the server's noise (a deployment should draw from the OS instead).

    Raises
    ------
    ValueError
        If the mode is none, or the combination has no valid calibration.
    """

    def __init__(self, inner: Rule, cfg: ClientDPConfig, expected: float, seed: int) -> None:
        _check(inner, cfg, expected)
        self.inner, self.cfg, self.expected = inner, cfg, expected
        self.sigma, count_std = noise_parameters(cfg, expected)
        self.bound = AdaptiveBound(cfg.clip_norm, cfg.target_quantile, cfg.clip_lr, count_std)
        self.rng = np.random.default_rng([seed, 0xD9])
        self.needs_users = cfg.mode == "central" or inner.needs_users
        self.proximal_mu = inner.proximal_mu
        self.last: dict[str, float] = {}

    def aggregate(self, name: str, current: np.ndarray, inputs: RoundInputs) -> np.ndarray:
        """Return the wrapped rule's result on the privatised round inputs."""
        if self.cfg.mode == "local":
            self.last = {"dp_clip_norm": self.bound.bound}
            return self.inner.aggregate(name, current, inputs)
        users = users_of(inputs, name)
        bound = self.bound.bound
        clipped, norms = clip_updates(users, current, bound)
        std = self.sigma * bound
        noisy = update_sum(clipped, current) + self.rng.normal(0.0, std, current.shape)
        mean = (current + noisy / self.expected).astype(np.float32)
        self.last = {"dp_clip_norm": bound, "dp_noise_std": std / self.expected}
        if self.cfg.clipping == "adaptive":
            self.last["dp_unclipped"] = self.bound.step(norms, self.expected, self.rng)
        return self.inner.aggregate(name, current, RoundInputs(mean={name: mean}, users={}))

    def client_config(self) -> dict[str, float]:
        """Local mode: the bound and noise std every client applies to its own update."""
        if self.cfg.mode != "local":
            return {}
        bound = self.bound.bound
        return {wire.DP_CLIP_NORM: bound, wire.DP_NOISE_STD: self.sigma * bound}

    def round_metrics(self) -> dict[str, float]:
        """Return the bound (and noise std, unclipped share) of the last aggregation."""
        return dict(self.last)

    def state(self) -> dict[str, Any]:
        """Return the wrapped rule's state and the current bound."""
        return {"inner": self.inner.state(), "clip_norm": self.bound.bound}

    def load_state(self, state: dict[str, Any], shapes: dict[str, tuple[int, ...]]) -> None:
        """Restore :meth:`state`."""
        self.inner.load_state(state.get("inner", {}), shapes)
        self.bound.bound = float(state.get("clip_norm", self.cfg.clip_norm))


def _check(inner: Rule, cfg: ClientDPConfig, expected: float) -> None:
    if cfg.mode == "none":
        raise ValueError("client_dp.mode is none: there is nothing to wrap")
    if expected <= 0:
        raise ValueError("client-level DP needs at least one expected client per round")
    if cfg.mode == "local" and cfg.clipping == "adaptive":
        raise ValueError(
            "client_dp.clipping=adaptive needs the server to see every norm (central mode); "
            "local DP clips with a fixed client_dp.clip_norm"
        )
    if cfg.mode == "central" and inner.needs_users:
        raise ValueError(
            f"client_dp.mode=central cannot wrap {type(inner).__name__}: its result is not a "
            "mean with a fixed denominator, so one client's influence is not S/n and the noise "
            "would be mis-calibrated (a per-item mean divides each row by how many users touched "
            "it); use a linear rule (fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad) or "
            "client_dp.mode=local, where any rule is post-processing"
        )


def with_client_dp(rule: Rule, cfg: ExperimentConfig, population: int) -> Rule:
    """Return ``rule`` wrapped as ``cfg.client_dp`` asks (unchanged when ``none``).

    Raises
    ------
    ValueError
        If DP is on with example-weighted aggregation (a user's weight would scale its bound).
    """
    dp = cfg.client_dp
    if dp.mode == "none":
        return rule
    if cfg.federation.aggregation != "mean":
        raise ValueError(
            "client-level DP needs federation.aggregation=mean: weighting users by their "
            "examples lets one user's influence exceed the clipping bound"
        )
    fed = cfg.federation
    expected = expected_clients(fed.clients_per_round, fed.participation, population)
    return ClientLevelDP(rule, dp, expected, cfg.seed)
