"""Vectorised DP-SGD of FedRAP for a cohort: Opacus' clipping and noise, for all users at once.

Per step and per user it does what Opacus' ``GradSampleModule`` + ``DPOptimizer`` do around the
per-user model of :mod:`fedrec.algorithms.fedrap.per_user`: per-sample gradients
(:mod:`fedrec.privacy.grads`), each clipped to total norm ``S``, summed per user, ``N(0, σ²S²)``
noise added to **every** entry of every trained parameter, the sum divided by the user's
expected batch size, then plain SGD with weight decay and the reference's per-step decay of the
learning rate.

Rows of D and C that none of a user's samples this round refer to get no gradient in any step,
so each step only decays them and adds noise: ``x ← k_t·x − r_t·ξ_t`` with ``k_t = 1 − lr_t·wd``,
``r_t = lr_t / B`` and independent ``ξ_t ~ N(0, σ²S²)``. After the round such a row is
``(Π k_t)·x₀`` plus one Gaussian of variance ``Σ_t (Π_{s>t} k_s)² r_t² σ²S²``: the same
distribution as stepping it, drawn once per round instead of once per step. The rows samples do
touch are stepped one by one with fresh noise every step. The result is dense D and C per user.

The relative-loss early stop is off: it reads the private loss, and the number of steps must not
depend on the data for the accountant's count to hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from fedrec.algorithms.fedrap.cohort import RoundSettings
from fedrec.config.schema import FedRAPConfig
from fedrec.privacy.batches import StepSchedule
from fedrec.privacy.grads import SampleGradients, SampleRows, sample_gradients


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

    @property
    def std(self) -> float:
        """Return the noise's standard deviation ``σ·S``."""
        return self.noise_multiplier * self.max_grad_norm


@dataclass
class _Rows:
    """The (user, item) rows the round's samples refer to, and what the other rows owe."""

    flat: torch.Tensor  # (R,) user · n_items + item
    owner: torch.Tensor  # (R,) local user
    sample_row: torch.Tensor  # (S,) each sample's row
    views: dict[str, torch.Tensor]  # trained views' rows: "local" (D) and/or "glob" (C), (R, dim)
    scale: torch.Tensor  # (U,) float64, Π k_t of the other rows
    variance: torch.Tensor  # (U,) float64, their accumulated noise variance

    @classmethod
    def gather(
        cls, t: DenseCohort, user: torch.Tensor, item: torch.Tensor, cfg: FedRAPConfig
    ) -> _Rows:
        n_users, n_items, dim = t.item_local.shape
        flat, sample_row = torch.unique(user * n_items + item, return_inverse=True)
        views = {}
        if cfg.variant != "global_only":
            views["local"] = t.item_local.view(-1, dim)[flat]
        if cfg.variant != "local_only":
            views["glob"] = t.item_global.view(-1, dim)[flat]
        unit = torch.ones(n_users, dtype=torch.float64)
        return cls(flat, flat // n_items, sample_row, views, unit, torch.zeros_like(unit))

    def read(self, name: str, t: DenseCohort, rows: torch.Tensor) -> torch.Tensor:
        """Return a view's rows for the samples (a frozen view is read from the dense table)."""
        if name in self.views:
            return self.views[name][rows]
        dense = t.item_local if name == "local" else t.item_global
        return dense.view(-1, dense.shape[2])[self.flat[rows]]


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
    rows = _Rows.gather(t, user, item, cfg)
    n_users = len(t.head_bias)
    taken = torch.zeros(n_users)
    loss_sum = torch.zeros(n_users, dtype=torch.float64)
    seen = torch.zeros(n_users, dtype=torch.float64)
    for step in steps:
        decay = cfg.batch_lr_decay**taken
        lr_head, lr_emb = (
            torch.where(step.active, lr * decay, 0.0)
            for lr in (settings.lr_head, settings.lr_embedding)
        )
        idx = torch.nonzero(step.batch).squeeze(1)
        grads = _batch_gradients(t, rows, idx, user, label, cfg, settings)
        _step(t, rows, grads.clip(noise.max_grad_norm), user[idx], rows.sample_row[idx],
              (lr_head, lr_emb), cfg.weight_decay, noise, generator)  # fmt: skip
        loss_sum.index_add_(0, user[idx], grads.loss.double())
        seen.index_add_(0, user[idx], torch.ones(len(idx), dtype=torch.float64))
        taken += step.active.float()
    _finish(t, rows, noise, generator)
    return (loss_sum / seen.clamp(min=1)).float()


def _batch_gradients(
    t: DenseCohort,
    rows: _Rows,
    idx: torch.Tensor,
    user: torch.Tensor,
    label: torch.Tensor,
    cfg: FedRAPConfig,
    settings: RoundSettings,
) -> SampleGradients:
    r, u = rows.sample_row[idx], user[idx]
    batch = SampleRows(
        local=rows.read("local", t, r),
        glob=rows.read("glob", t, r),
        weight=t.head_weight[u],
        bias=t.head_bias[u],
        label=label[idx],
    )
    return sample_gradients(batch, cfg, settings.lam, settings.mu)


def _step(
    t: DenseCohort,
    rows: _Rows,
    clipped: SampleGradients,
    user: torch.Tensor,
    sample_row: torch.Tensor,
    lrs: tuple[torch.Tensor, torch.Tensor],
    wd: float,
    noise: NoiseSettings,
    generator: torch.Generator,
) -> None:
    """One DP-SGD step of every active user (inactive users have learning rate 0)."""
    lr_head, lr_emb = lrs
    users = torch.arange(len(lr_head))
    _sgd(t.head_weight, clipped.weight, user, users, lr_head, wd, noise, generator)
    _sgd(t.head_bias, clipped.bias, user, users, lr_head, wd, noise, generator)
    for name, table in rows.views.items():
        grads = clipped.local if name == "local" else clipped.glob
        _sgd(table, grads, sample_row, rows.owner, lr_emb, wd, noise, generator)
    # The rows no sample touched: decayed, and their noise's variance carried forward.
    keep = 1 - lr_emb.double() * wd
    rate = lr_emb.double() / noise.expected_batch.double()
    rows.scale.mul_(keep)
    rows.variance.mul_(keep**2).add_(rate**2 * noise.std**2)


def _sgd(
    param: torch.Tensor,
    sample_grads: torch.Tensor,
    index: torch.Tensor,
    owner: torch.Tensor,
    lr: torch.Tensor,
    wd: float,
    noise: NoiseSettings,
    generator: torch.Generator,
) -> None:
    """``p ← p − lr·((N(0, σ²S²) + Σ clipped) / B + wd·p)``, Opacus' and torch's SGD order.

    ``index`` is each sample's entry of ``param``, ``owner`` each entry's user.
    """
    grad = _noise_like(param, noise.std, generator).index_add_(0, index, sample_grads)
    shape = (-1,) + (1,) * (param.dim() - 1)
    grad.div_(noise.expected_batch[owner].view(shape)).add_(param, alpha=wd)
    param.addcmul_(grad, lr[owner].view(shape), value=-1.0)


def _finish(t: DenseCohort, rows: _Rows, noise: NoiseSettings, generator: torch.Generator) -> None:
    """Give the rows no sample touched their decay and their round's noise; write the rest back."""
    dense = {"local": t.item_local, "glob": t.item_global}
    for name, table in rows.views.items():
        per_user = dense[name].view(len(rows.scale), -1)
        per_user.mul_(rows.scale.float().unsqueeze(1))
        if noise.std > 0:
            draw = torch.empty_like(per_user).normal_(0.0, 1.0, generator=generator)
            per_user.addcmul_(draw, rows.variance.sqrt().float().unsqueeze(1))
        dense[name].view(-1, table.shape[1])[rows.flat] = table


def _noise_like(param: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """Return ``N(0, std²)`` noise shaped like ``param`` (zeros when ``std`` is 0, as Opacus)."""
    if std == 0:
        return torch.zeros_like(param)
    return torch.empty_like(param).normal_(0.0, std, generator=generator)
