"""Vectorised DP-SGD of FedRAP for a cohort: Opacus' clipping and noise, for all users at once.

Per step and per user it does what Opacus' ``GradSampleModule`` + ``DPOptimizer`` do around the
per-user model of :mod:`fedrec.algorithms.fedrap.per_user`:

1. per-sample gradients of the sample's loss (its BCE term and its share of the batch-row
   regularisers ``−λ‖D_i − C_i‖²/dim + μ|C_i|₁/dim``) with respect to the head's weight and
   bias and the sample's D and C rows, written in closed form;
2. each sample's gradient clipped to total L2 norm ``S`` by ``min(1, S / (‖g‖ + 1e-6))``;
3. the clipped gradients summed per user, and ``N(0, σ²S²)`` noise added to **every** entry of
   every trained parameter, including the rows no sample touched; so D and C are dense here;
4. the sum divided by the user's expected batch size, then plain SGD with weight decay and the
   per-step learning-rate decay of the reference.

The relative-loss early stop is off: it reads the private loss, and the number of steps must
not depend on the data for the accountant's count to hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from fedrec.algorithms.fedrap.cohort import RoundSettings
from fedrec.config.schema import FedRAPConfig
from fedrec.privacy.batches import StepSchedule

#: Opacus adds this to every per-sample norm before dividing the bound by it.
CLIP_EPS = 1e-6


@dataclass
class DenseCohort:
    """A cohort's trainable tensors, dense per user."""

    item_local: torch.Tensor  # D, (U, n_items, dim)
    item_global: torch.Tensor  # C, (U, n_items, dim)
    head_weight: torch.Tensor  # (U, dim)
    head_bias: torch.Tensor  # (U,)


@dataclass(frozen=True)
class NoiseSettings:
    """The DP-SGD constants of one cohort's round."""

    noise_multiplier: float  # σ
    max_grad_norm: float  # S
    expected_batch: torch.Tensor  # (U,) what a user's noisy sum is divided by


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


def sample_gradients(
    t: DenseCohort,
    user: torch.Tensor,
    item: torch.Tensor,
    label: torch.Tensor,
    cfg: FedRAPConfig,
    lam: float,
    mu: float,
) -> SampleGradients:
    """Return the per-sample gradients of FedRAP's per-user loss on the samples given.

    Each sample's gradient is ``B`` times its share of the mean batch loss, which is what Opacus
    computes with ``loss_reduction="mean"``. The BCE part reproduces torch's backward, including
    its ``max(p(1 − p), 1e-12)`` guard.
    """
    dim = t.item_local.shape[2]
    local = t.item_local[user, item]
    glob = t.item_global[user, item]
    rows = local + glob
    head = t.head_weight[user]
    prob = torch.sigmoid((rows * head).sum(1) + t.head_bias[user])
    spread = prob * (1 - prob)
    g_logit = (prob - label) * spread / spread.clamp(min=1e-12)
    log_p, log_q = prob.log().clamp(min=-100), (1 - prob).log().clamp(min=-100)
    diff = local - glob
    l1 = cfg.regulariser == "l1"
    reg = glob.abs().sum(1) if l1 else (glob * glob).sum(1)
    loss = -(label * log_p + (1 - label) * log_q) - lam * (diff * diff).sum(1) / dim
    loss = loss + mu * reg / dim
    via_head = g_logit.unsqueeze(1) * head
    gap_grad = (2 * lam / dim) * diff
    reg_grad = (mu / dim) * torch.sign(glob) if l1 else (2 * mu / dim) * glob
    d_on, c_on = float(cfg.variant != "global_only"), float(cfg.variant != "local_only")
    return SampleGradients(
        weight=g_logit.unsqueeze(1) * rows,
        bias=g_logit,
        local=d_on * (via_head - gap_grad),
        glob=c_on * (via_head + gap_grad + reg_grad),
        loss=loss,
    )


def train_dense_cohort(
    t: DenseCohort,
    user: torch.Tensor,
    item: torch.Tensor,
    label: torch.Tensor,
    steps: StepSchedule,
    cfg: FedRAPConfig,
    settings: RoundSettings,
    noise: NoiseSettings,
    generator: torch.Generator,
) -> torch.Tensor:
    """Run a round of DP-SGD on every user of the cohort, in place; return each user's loss.

    Parameters
    ----------
    t : DenseCohort
        The users' D, C and heads; trained in place.
    user, item, label : torch.Tensor
        Per sample of the cohort: its local user, item and label.
    steps : StepSchedule
        The round's steps (which samples each stepping user's batch holds).
    cfg : FedRAPConfig
        Hyperparameters (weight decay, learning-rate decay, regulariser, variant).
    settings : RoundSettings
        This round's λ, μ and learning rates (FedProx's term is not supported).
    noise : NoiseSettings
        σ, S and the users' expected batch sizes.
    generator : torch.Generator
        Source of the Gaussian noise.

    Returns
    -------
    torch.Tensor
        Per user, the mean loss over every sample of every batch it stepped on.
    """
    if settings.proximal_mu > 0:
        raise ValueError("DP-SGD does not privatise FedProx's proximal term: use fedavg")
    n_users = t.head_bias.shape[0]
    taken = torch.zeros(n_users)
    loss_sum = torch.zeros(n_users, dtype=torch.float64)
    seen = torch.zeros(n_users, dtype=torch.float64)
    for step in steps:
        decay = cfg.batch_lr_decay**taken
        lrs = (settings.lr_head * decay, settings.lr_embedding * decay)
        lr_head, lr_emb = (torch.where(step.active, lr, 0.0) for lr in lrs)
        idx = torch.nonzero(step.batch).squeeze(1)
        grads = sample_gradients(
            t, user[idx], item[idx], label[idx], cfg, settings.lam, settings.mu
        )
        _apply_step(
            t,
            user[idx],
            item[idx],
            grads.clip(noise.max_grad_norm),
            lr_head,
            lr_emb,
            cfg,
            noise,
            generator,
        )
        loss_sum.index_add_(0, user[idx], grads.loss.double())
        seen.index_add_(0, user[idx], torch.ones(len(idx), dtype=torch.float64))
        taken += step.active.float()
    return (loss_sum / seen.clamp(min=1)).float()


def _apply_step(
    t: DenseCohort,
    user: torch.Tensor,
    item: torch.Tensor,
    clipped: SampleGradients,
    lr_head: torch.Tensor,
    lr_emb: torch.Tensor,
    cfg: FedRAPConfig,
    noise: NoiseSettings,
    generator: torch.Generator,
) -> None:
    """Sum, noise, normalise and take the SGD step, in the order Opacus and torch's SGD do."""
    std = noise.noise_multiplier * noise.max_grad_norm
    n_items = t.item_local.shape[1]
    flat = user * n_items + item
    trained = [
        (t.head_weight, clipped.weight, user, lr_head),
        (t.head_bias, clipped.bias, user, lr_head),
    ]
    if cfg.variant != "global_only":
        trained.append((t.item_local.view(-1, t.item_local.shape[2]), clipped.local, flat, lr_emb))
    if cfg.variant != "local_only":
        trained.append((t.item_global.view(-1, t.item_global.shape[2]), clipped.glob, flat, lr_emb))
    for param, sample_grads, index, lr in trained:
        grad = _noise_like(param, std, generator).index_add_(0, index, sample_grads)
        grad = grad.view(len(lr), -1)
        grad.div_(noise.expected_batch.unsqueeze(1)).add_(
            param.view(len(lr), -1), alpha=cfg.weight_decay
        )
        param.view(len(lr), -1).addcmul_(grad, -lr.unsqueeze(1))


def _noise_like(param: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """Return ``N(0, std²)`` noise shaped like ``param`` (zeros when ``std`` is 0, as Opacus)."""
    if std == 0:
        return torch.zeros_like(param)
    return torch.empty_like(param).normal_(0.0, std, generator=generator)
