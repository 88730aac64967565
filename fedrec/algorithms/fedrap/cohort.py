"""FedRAP local training for a whole cohort of users at once.

It computes what the reference code computes with one model, one optimizer and one data loader
per user (``per_user.py`` keeps that loop as the test oracle), but for all users together:

* each user's loss is its own mean over its own batch, and its gradient is written in closed
  form per (user, item) row, so one pass over the cohort's rows is one step for every user;
* plain SGD's weight decay shrinks *every* row of a user's D and C by ``1 - lr·wd`` each step.
  Only the rows a user touches this round are gathered; the others are tracked as one scalar
  per user and applied when the round ends — exact, not an approximation;
* per-user learning-rate decay, batch counts and early stopping are masks over users.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from fedrec.algorithms.fedrap.curriculum import client_c_decay
from fedrec.algorithms.fedrap.epochs import run_epochs
from fedrec.algorithms.fedrap.kernel import StepFn, StepScalars, head_gradients, step_for
from fedrec.algorithms.fedrap.samples import RoundSamples
from fedrec.config.schema import FedRAPConfig, Kernel
from fedrec.state.private import TouchedState


@dataclass(frozen=True)
class RoundSettings:
    """What changes from round to round: the loss weights and starting learning rates."""

    lam: float
    mu: float
    lr_head: float
    lr_embedding: float
    keys: tuple[int, int]  # (seed, server_round)
    proximal_mu: float = 0.0  # FedProx: μ/2 · ‖C_u − G‖² in every user's loss (0: off)


@dataclass
class CohortUpdate:
    """A cohort's local result: final C rows it touched plus the decay of the rows it did not."""

    row_user: torch.Tensor
    row_item: torch.Tensor
    global_rows: torch.Tensor  # (R, dim) the user's local C on its touched rows
    untouched_scale: torch.Tensor  # (U,) factor on C rows the user never touched
    local_scale: torch.Tensor  # (U,) factor on D rows the user never touched
    loss: torch.Tensor  # (U,) running mean loss, as the reference reports it
    epochs: torch.Tensor  # (U,) epochs run before the early stop


@dataclass
class _Tables:
    """The cohort's touched rows in sum/difference form (``E = D + C``, ``F = D − C``) and heads.

    The score needs only ``E``, and one SGD step becomes per-row scalars times ``E``, ``F`` and
    the head (see :func:`fedrec.algorithms.fedrap.kernel.sgd_rows`).
    """

    sums: torch.Tensor  # E, (R, dim)
    gaps: torch.Tensor  # F, (R, dim)
    weight: torch.Tensor  # (U, dim)
    bias: torch.Tensor  # (U,)
    anchor: torch.Tensor  # G on the touched rows (FedProx's proximal centre)

    @classmethod
    def gather(cls, state: TouchedState, item_global: torch.Tensor, s: RoundSamples) -> _Tables:
        local = state.local_rows
        glob = item_global[s.row_item]
        return cls(
            sums=local + glob,
            gaps=local - glob,
            weight=state.head_weight.clone(),
            bias=state.head_bias.clone(),
            anchor=glob,
        )

    def local_rows(self) -> torch.Tensor:
        return (self.sums + self.gaps) / 2

    def global_rows(self) -> torch.Tensor:
        return (self.sums - self.gaps) / 2


def train_cohort(
    state: TouchedState,
    item_global: torch.Tensor,
    samples: RoundSamples,
    cfg: FedRAPConfig,
    settings: RoundSettings,
    kernel: Kernel = "auto",
    two_step: bool = False,
) -> CohortUpdate:
    """Run one round of local FedRAP training for every user of a cohort.

    Parameters
    ----------
    state : TouchedState
        The cohort's touched private rows and heads; replaced by their trained values.
    item_global : torch.Tensor
        The server's C, shape ``(n_items, dim)``; not modified.
    samples : RoundSamples
        This round's training samples (rows sorted by user).
    cfg : FedRAPConfig
        Hyperparameters.
    settings : RoundSettings
        This round's λ, μ and learning rates.
    kernel : {"auto", "eager", "compiled"}
        Whether the step runs compiled (see :mod:`fedrec.algorithms.fedrap.kernel`).
    two_step : bool
        PFedRec's local update: each batch first steps the heads with the rows fixed, then the
        rows under the updated heads (else one joint step).

    Returns
    -------
    CohortUpdate
        What the cohort contributes to aggregation, and its training loss.
    """
    tables = _Tables.gather(state, item_global, samples)
    run = _StepContext.create(cfg, settings, len(samples.row_user), kernel, two_step)
    result = run_epochs(samples, cfg, settings.keys, partial(_step, run, tables, samples))
    state.local_rows = tables.local_rows()
    state.head_weight, state.head_bias = tables.weight, tables.bias
    return CohortUpdate(
        row_user=samples.row_user,
        row_item=samples.row_item,
        global_rows=tables.global_rows(),
        untouched_scale=result.untouched_scale,
        local_scale=result.local_scale,
        loss=result.loss,
        epochs=result.epochs,
    )


def _step(
    run: _StepContext,
    t: _Tables,
    s: RoundSamples,
    hits: torch.Tensor,
    pos: torch.Tensor,
    counts: torch.Tensor,
    active: torch.Tensor,
    steps: torch.Tensor,
    scales: tuple[torch.Tensor, torch.Tensor],
) -> torch.Tensor:
    """One SGD step of every active user on its current batch; return the users' losses."""
    inv_n = (1.0 / counts.clamp(min=1))[s.row_user]
    decay = run.cfg.batch_lr_decay**steps
    lr_emb = torch.where(active, run.settings.lr_embedding * decay, 0.0)
    lr_head = torch.where(active, run.settings.lr_head * decay, 0.0)
    wd, prox = run.cfg.weight_decay, run.settings.proximal_mu
    if run.head_step is not None:  # two-step: the heads move first, on the rows as they are
        g_weight, g_bias = run.head_step(t.sums, t.weight, t.bias, s.row_user, hits, pos, inv_n)
        _step_heads(t, lr_head, g_weight, g_bias, wd)
    losses, g_weight, g_bias = run.step(
        t.sums,
        t.gaps,
        t.weight,
        t.bias,
        s.row_user,
        hits,
        pos,
        inv_n,
        lr_emb[s.row_user],
        run.scalars,
        run.cfg.regulariser == "l1",
        t.anchor if prox > 0 else None,
    )
    if run.head_step is None:
        _step_heads(t, lr_head, g_weight, g_bias, wd)
    # An untouched row of C is s·G: decay and FedProx's pull μ(sG − G) keep it a multiple of G.
    scale, local_scale = scales
    scale.mul_(1 - lr_emb * (client_c_decay(run.cfg) + prox)).add_(lr_emb * prox)
    local_scale.mul_(1 - run.cfg.local_lr_scale * lr_emb * wd)
    return losses


def _step_heads(
    t: _Tables, lr_head: torch.Tensor, g_weight: torch.Tensor, g_bias: torch.Tensor, wd: float
) -> None:
    t.weight.sub_(lr_head.unsqueeze(1) * g_weight.add_(t.weight, alpha=wd))
    t.bias.sub_(lr_head * g_bias.add_(t.bias, alpha=wd))


@dataclass(frozen=True)
class _StepContext:
    """What stays fixed over a cohort's round: hyperparameters, scalars and the step function."""

    cfg: FedRAPConfig
    settings: RoundSettings
    scalars: StepScalars
    step: StepFn
    head_step: StepFn | None  # the heads' own step first (PFedRec's two-step update)

    @classmethod
    def create(
        cls, cfg: FedRAPConfig, settings: RoundSettings, rows: int, mode: Kernel, two_step: bool
    ) -> _StepContext:
        d_on, c_on = float(cfg.variant != "global_only"), float(cfg.variant != "local_only")
        values = (
            settings.lam,
            settings.mu,
            cfg.weight_decay,
            client_c_decay(cfg),
            d_on,
            c_on,
            settings.proximal_mu,
            cfg.local_lr_scale,
        )
        scalars = StepScalars(*(torch.tensor(v, dtype=torch.float32) for v in values))
        head_step = step_for(rows, mode, head_gradients) if two_step else None
        return cls(cfg, settings, scalars, step_for(rows, mode), head_step)


def sum_global_updates(
    item_global: torch.Tensor, update: CohortUpdate, weights: torch.Tensor
) -> torch.Tensor:
    """Return ``Σ_u w_u · C_u`` over the cohort without materialising any user's full C.

    ``C_u = s_u · C`` on rows the user did not touch and its trained rows elsewhere, so the sum
    is ``(Σ w_u s_u) · C`` plus the weighted trained rows, minus, per item ``i``, the scaled
    ``C_i · Σ_{r of i} w_r s_r`` that those rows replace.
    """
    scale, row_item = update.untouched_scale, update.row_item
    w_row = weights[update.row_user]
    untouched = float((weights * scale).sum())
    replaced = torch.bincount(
        row_item, weights=w_row * scale[update.row_user], minlength=len(item_global)
    )
    total = item_global * (untouched - replaced.to(item_global.dtype)).unsqueeze(1)
    return total.index_add_(0, row_item, update.global_rows * w_row.unsqueeze(1))
