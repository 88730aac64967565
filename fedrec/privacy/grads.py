"""Per-sample gradients of FedRAP's per-user loss, and Opacus' flat per-sample clipping.

Each sample's gradient is ``B`` times its share of the mean batch loss, which is what Opacus'
``GradSampleModule`` computes with ``loss_reduction="mean"``: the BCE term, and the sample's share
of the batch-row regularisers ``−λ‖D_i − C_i‖²/dim + μ|C_i|₁/dim`` (or ``μ‖C_i‖²/dim``), with
respect to the head's weight and bias and the sample's rows of D and C.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from fedrec.config.schema import FedRAPConfig

#: Opacus adds this to every per-sample norm before dividing the bound by it.
CLIP_EPS = 1e-6


@dataclass(frozen=True)
class SampleGradients:
    """Per-sample gradients of a batch's samples, and each sample's loss."""

    weight: torch.Tensor  # (B, dim)
    bias: torch.Tensor  # (B,)
    local: torch.Tensor  # (B, dim), zero when D is not trained
    glob: torch.Tensor  # (B, dim), zero when C is not trained
    loss: torch.Tensor  # (B,)

    def norms(self) -> torch.Tensor:
        """Return each sample's gradient norm over all parameters (Opacus' flat clipping)."""
        parts = (self.weight, self.bias.unsqueeze(1), self.local, self.glob)
        norms: torch.Tensor = torch.stack([p.norm(2, dim=1) for p in parts], dim=1).norm(2, dim=1)
        return norms

    def clip(self, bound: float) -> SampleGradients:
        """Return the gradients scaled by ``min(1, bound / (norm + 1e-6))``, as Opacus clips."""
        factor = (bound / (self.norms() + CLIP_EPS)).clamp(max=1.0)
        col = factor.unsqueeze(1)
        return SampleGradients(
            self.weight * col, self.bias * factor, self.local * col, self.glob * col, self.loss
        )


@dataclass(frozen=True)
class SampleRows:
    """What one batch's samples read: their D and C rows, their user's head, their label."""

    local: torch.Tensor  # (B, dim)
    glob: torch.Tensor  # (B, dim)
    weight: torch.Tensor  # (B, dim)
    bias: torch.Tensor  # (B,)
    label: torch.Tensor  # (B,)


def sample_gradients(s: SampleRows, cfg: FedRAPConfig, lam: float, mu: float) -> SampleGradients:
    """Return the per-sample gradients of FedRAP's per-user loss, and each sample's loss.

    The BCE part reproduces torch's backward, including its ``max(p(1 − p), 1e-12)`` guard; a
    view the variant freezes gets a zero gradient (it is no trained parameter).
    """
    dim = s.local.shape[1]
    rows = s.local + s.glob
    prob = torch.sigmoid((rows * s.weight).sum(1) + s.bias)
    spread = prob * (1 - prob)
    g_logit = (prob - s.label) * spread / spread.clamp(min=1e-12)
    log_p, log_q = prob.log().clamp(min=-100), (1 - prob).log().clamp(min=-100)
    diff = s.local - s.glob
    l1 = cfg.regulariser == "l1"
    reg = s.glob.abs().sum(1) if l1 else (s.glob * s.glob).sum(1)
    loss = -(s.label * log_p + (1 - s.label) * log_q) - lam * (diff * diff).sum(1) / dim
    loss = loss + mu * reg / dim
    via_head = g_logit.unsqueeze(1) * s.weight
    gap_grad = (2 * lam / dim) * diff
    reg_grad = (mu / dim) * torch.sign(s.glob) if l1 else (2 * mu / dim) * s.glob
    d_on, c_on = float(cfg.variant != "global_only"), float(cfg.variant != "local_only")
    return SampleGradients(
        weight=g_logit.unsqueeze(1) * rows,
        bias=g_logit,
        local=d_on * (via_head - gap_grad),
        glob=c_on * (via_head + gap_grad + reg_grad),
        loss=loss,
    )
