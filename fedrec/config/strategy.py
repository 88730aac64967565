"""Typed hyperparameters of the aggregation strategies (``federation.strategy`` picks one).

Each strategy reads only its own section, e.g. ``strategy.fedadam.server_lr=0.05``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AttackKind = Literal["none", "fake_users", "model_poisoning"]
Shrink = Literal["soft", "hard"]
Scope = Literal["matrix", "row"]


@dataclass(frozen=True)
class FedAvgMConfig:
    """FedAvgM: server momentum on the pseudo-gradient (Hsu et al., 2019)."""

    server_lr: float = 1.0
    momentum: float = 0.9


@dataclass(frozen=True)
class AdaptiveConfig:
    """FedAdam / FedYogi / FedAdagrad (Reddi et al., 2021); defaults as Flower's FedYogi."""

    server_lr: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.99
    tau: float = 1e-3


@dataclass(frozen=True)
class FedProxConfig:
    """FedProx: clients add ``μ/2 · ‖C_u − G‖²`` to their local loss (Li et al., 2020)."""

    mu: float = 0.001


@dataclass(frozen=True)
class TrimmedMeanConfig:
    """Coordinate-wise trimmed mean: drop the ``⌊β·U⌋`` largest and smallest values."""

    beta: float = 0.1


@dataclass(frozen=True)
class KrumConfig:
    """Krum / Multi-Krum: ``num_selected = 1`` is Krum; ``num_malicious`` is Krum's ``f``."""

    num_malicious: int = 0
    num_selected: int = 1


@dataclass(frozen=True)
class StrategyConfig:
    """Hyperparameters of every strategy, one section each."""

    fedavgm: FedAvgMConfig = field(default_factory=FedAvgMConfig)
    fedadam: AdaptiveConfig = field(default_factory=AdaptiveConfig)
    fedyogi: AdaptiveConfig = field(default_factory=AdaptiveConfig)
    fedadagrad: AdaptiveConfig = field(default_factory=AdaptiveConfig)
    fedprox: FedProxConfig = field(default_factory=FedProxConfig)
    trimmed_mean: TrimmedMeanConfig = field(default_factory=TrimmedMeanConfig)
    krum: KrumConfig = field(default_factory=KrumConfig)


@dataclass(frozen=True)
class SparsityConfig:
    """L1 proximal steps that make the global item view C sparse (exact zeros).

    After every aggregation the server soft-thresholds C by ``threshold``, raised as needed so
    that at most ``target_density`` of C's entries stay non-zero. With ``client_prox`` the
    clients apply the same step, with the round's threshold, to the rows they upload; each
    client raises its own threshold as needed so that at most ``upload_density`` of the
    entries it uploads are non-zero. ``scope="row"`` enforces ``target_density`` in every row
    of C (each item keeps its largest ``⌊target_density · dim⌋`` entries) instead of over all
    of C; clients then use the smallest row threshold. ``shrink="hard"`` makes the server keep
    surviving entries unshrunk (hard thresholding; clients always soft-threshold). With
    ``feedback`` the server keeps the dense C behind the sparse one it sends and adds each
    round's aggregated change to it, so entries cut to zero can grow back (dynamic pruning with
    feedback, Lin et al., 2020); clients only ever see, train and evaluate the sparse C.
    """

    threshold: float = 0.0
    target_density: float = 1.0
    client_prox: bool = True
    upload_density: float = 1.0
    shrink: Shrink = "soft"
    scope: Scope = "matrix"
    feedback: bool = False
    ramp_rounds: int = 0


@dataclass(frozen=True)
class AttackConfig:
    """Poisoning: fake users that promote one target item (``kind="none"``: no attack).

    ``fake_users`` adds ``fraction`` (of all clients) fake users whose training interactions are
    the target item plus ``filler`` items drawn by popularity; ``model_poisoning`` adds the same
    users and scales their update ``C_u − G`` by ``boost`` (0: clients / malicious clients).
    Every kind other than ``none`` reports the target item's exposure, also at ``fraction=0``.
    """

    kind: AttackKind = "none"
    fraction: float = 0.05
    target_item: int = -1
    boost: float = 0.0
    filler: int = 0
