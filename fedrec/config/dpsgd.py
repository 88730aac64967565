"""Typed settings of record-level DP-SGD in local training (``dpsgd.*``).

Every trained parameter of a user (score head, D and C) gets per-sample gradient clipping to
``max_grad_norm`` and Gaussian noise of standard deviation ``noise_multiplier · max_grad_norm``;
Opacus' accountant turns each user's steps into ε at ``delta``. See ``docs/privacy.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Opacus accountant names (``opacus.accountants.create_accountant``).
AccountantName = Literal["rdp", "prv"]
#: How a step's batch is drawn: Poisson subsampling (what the accountants assume) or the
#: reference's shuffled fixed-size batches (its ε is the common heuristic, not a proof).
BatchSampling = Literal["poisson", "shuffle"]


@dataclass(frozen=True)
class DPSGDConfig:
    """Record-level DP-SGD: clip every sample's gradient, add Gaussian noise to every parameter.

    Attributes
    ----------
    enabled : bool
        Train locally with DP-SGD (off by default).
    noise_multiplier : float
        σ: the noise's standard deviation is ``σ · max_grad_norm`` (0: clipping only, ε = ∞).
    max_grad_norm : float
        S: bound on the L2 norm of one sample's gradient over all trained parameters.
    delta : float
        δ at which ε is reported, in (0, 1).
    accountant : {"rdp", "prv"}
        Which Opacus accountant computes ε.
    sampling : {"poisson", "shuffle"}
        How batches are drawn (see ``BatchSampling``).
    """

    enabled: bool = False
    noise_multiplier: float = 1.0
    max_grad_norm: float = 1.0
    delta: float = 1e-5
    accountant: AccountantName = "rdp"
    sampling: BatchSampling = "poisson"

    def __post_init__(self) -> None:
        """Refuse values no DP-SGD run can use, naming the key."""
        problems = {
            "noise_multiplier": (self.noise_multiplier >= 0, "must be ≥ 0"),
            "max_grad_norm": (self.max_grad_norm > 0, "must be > 0"),
            "delta": (0 < self.delta < 1, "must lie in (0, 1)"),
        }
        for key, (ok, rule) in problems.items():
            if not ok:
                value = getattr(self, key)
                raise ValueError(f"config key 'dpsgd.{key}': {rule}, got {value}")
