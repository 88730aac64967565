"""Local FedRAP training of a cohort on any base model, vectorised over users with autograd.

The cohort's touched item rows of D and C are ``(R, width)`` leaf tensors (the row table of
:func:`~fedrec.algorithms.fedrap.samples.build_round_samples`), and every parameter of the base
model is a ``(U, ...)`` leaf tensor. Users share no tensor entry, so the gradient of the *sum* of
the users' mean losses gives every user its own gradient in one backward pass. The SGD step then
reproduces per-user ``torch.optim.SGD`` exactly as :mod:`fedrec.algorithms.fedrap.cohort` does:
per-user learning-rate decay, plain weight decay (untouched rows of C and D tracked as one factor
per user), and the early stop as a mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F  # noqa: N812
from torch.func import functional_call

from fedrec.algorithms.additive.padding import PaddedRows
from fedrec.algorithms.fedrap.cohort import CohortUpdate, RoundSettings
from fedrec.algorithms.fedrap.curriculum import client_c_decay
from fedrec.algorithms.fedrap.epochs import run_epochs
from fedrec.algorithms.fedrap.samples import RoundSamples
from fedrec.config.schema import FedRAPConfig
from fedrec.models.base import BaseRecommender
from fedrec.models.params import ModelLayout
from fedrec.state.private import TouchedState


@dataclass
class ModelUpdate:
    """A cohort's local result: the item-table update and every user's shared model parameters."""

    cohort: CohortUpdate
    shared: torch.Tensor  # (U, S) each user's local copy of the shared parameters


@dataclass
class _Leaves:
    """The tensors one round trains: item rows of D and C, and the model's parameters."""

    local: torch.Tensor  # D rows (R, width)
    glob: torch.Tensor  # C rows (R, width)
    anchor: torch.Tensor  # the server's C on the rows (FedProx's centre)
    private: dict[str, torch.Tensor]
    shared: dict[str, torch.Tensor]

    def params(self) -> list[torch.Tensor]:
        return [*self.private.values(), *self.shared.values()]


def train_cohort(
    state: TouchedState,
    globals_: tuple[torch.Tensor, torch.Tensor],
    samples: RoundSamples,
    cfg: FedRAPConfig,
    settings: RoundSettings,
    model: tuple[BaseRecommender, ModelLayout],
    two_step: bool = False,
) -> ModelUpdate:
    """Run one round of local FedRAP training of every user of a cohort on a base model.

    Parameters
    ----------
    state : TouchedState
        D on the touched rows and, in ``head_weight``, each user's flat private parameters;
        replaced by their trained values.
    globals_ : tuple of torch.Tensor
        The server's C ``(n_items, width)`` and flat shared parameters ``(S,)``; not modified.
    samples : RoundSamples
        This round's training samples (rows sorted by user).
    cfg : FedRAPConfig
        Hyperparameters (``variant``: which of C and D are trained).
    settings : RoundSettings
        This round's λ, μ, learning rates and FedProx's μ.
    model : tuple
        The base model built for ``len(samples.users)`` users, and its parameter layout.
    two_step : bool
        PFedRec's local update: each batch first steps the model with the item rows fixed,
        then the item rows with the updated model fixed (else one joint step).

    Returns
    -------
    ModelUpdate
        The same item-table update as the hand-written path, plus the shared parameters.
    """
    module, layout = model
    item_global, shared_global = globals_
    n_users = len(samples.users)
    leaves = _leaves(state, item_global, shared_global, samples, cfg, layout)
    step = _Step(module, PaddedRows.of(samples.row_user, n_users), cfg, settings, samples)
    step.two_step = two_step
    result = run_epochs(samples, cfg, settings.keys, partial(step, leaves))
    state.local_rows = leaves.local.detach()
    state.head_weight = layout.private.pack(leaves.private, n_users).detach()
    update = CohortUpdate(
        row_user=samples.row_user,
        row_item=samples.row_item,
        global_rows=leaves.glob.detach(),
        untouched_scale=result.untouched_scale,
        local_scale=result.local_scale,
        loss=result.loss,
        epochs=result.epochs,
    )
    return ModelUpdate(update, layout.shared.pack(leaves.shared, n_users).detach())


def _leaves(
    state: TouchedState,
    item_global: torch.Tensor,
    shared_global: torch.Tensor,
    samples: RoundSamples,
    cfg: FedRAPConfig,
    layout: ModelLayout,
) -> _Leaves:
    n_users = len(samples.users)
    anchor = item_global[samples.row_item]
    local = state.local_rows.clone().requires_grad_(cfg.variant != "global_only")
    glob = anchor.clone().requires_grad_(cfg.variant != "local_only")
    private = layout.private.unpack(state.head_weight.clone())
    shared = layout.shared.unpack(shared_global.expand(n_users, -1).clone())
    return _Leaves(
        local=local,
        glob=glob,
        anchor=anchor,
        private={k: v.contiguous().requires_grad_() for k, v in private.items()},
        shared={k: v.contiguous().requires_grad_() for k, v in shared.items()},
    )


class _Step:
    """One SGD step of every active user on its current batch."""

    def __init__(
        self,
        module: BaseRecommender,
        padded: PaddedRows,
        cfg: FedRAPConfig,
        settings: RoundSettings,
        samples: RoundSamples,
    ) -> None:
        self.module, self.padded, self.cfg, self.settings = module, padded, cfg, settings
        self.row_user = samples.row_user
        self.two_step = False
        self.d_on = float(cfg.variant != "global_only")
        self.c_on = float(cfg.variant != "local_only")

    def __call__(
        self,
        t: _Leaves,
        hits: torch.Tensor,
        pos: torch.Tensor,
        counts: torch.Tensor,
        active: torch.Tensor,
        steps: torch.Tensor,
        scales: tuple[torch.Tensor, torch.Tensor],
    ) -> torch.Tensor:
        """Update ``t`` in place; return every user's loss on its batch.

        ``scales`` are the factors on the untouched rows of C and of D, updated in place.
        """
        decay = self.cfg.batch_lr_decay**steps
        lr_emb = torch.where(active, self.settings.lr_embedding * decay, 0.0)
        lr_head = torch.where(active, self.settings.lr_head * decay, 0.0)
        if self.two_step:
            self._losses(t, hits, pos, counts, fixed="items").sum().backward()  # type: ignore[no-untyped-call]
            self._step_params(t, lr_head)
            t.local.grad = t.glob.grad = None  # the regularisers' share of the first pass
            losses = self._losses(t, hits, pos, counts, fixed="params")
            losses.sum().backward()  # type: ignore[no-untyped-call]
            self._step_rows(t, lr_emb)
        else:
            losses = self._losses(t, hits, pos, counts)
            losses.sum().backward()  # type: ignore[no-untyped-call]
            self._step_rows(t, lr_emb)
            self._step_params(t, lr_head)
        for p in (t.local, t.glob, *t.params()):
            p.grad = None
        # An untouched row of C is s·G: decay and FedProx's pull keep it a multiple of G.
        wd, prox = self.cfg.weight_decay, self.settings.proximal_mu
        scale, local_scale = scales
        scale.mul_(1 - lr_emb * (client_c_decay(self.cfg) + prox)).add_(lr_emb * prox)
        local_scale.mul_(1 - self.cfg.local_lr_scale * lr_emb * wd)
        return losses.detach()

    @torch.no_grad()
    def _step_rows(self, t: _Leaves, lr_emb: torch.Tensor) -> None:
        wd, prox = self.cfg.weight_decay, self.settings.proximal_mu
        lr_row = lr_emb[self.row_user].unsqueeze(1)
        if t.local.grad is not None:  # D's rate is C's times fedrap.local_lr_scale
            t.local.sub_(self.cfg.local_lr_scale * lr_row * (t.local.grad + wd * t.local))
        if t.glob.grad is not None:
            # Terms with a zero weight are skipped, not multiplied by 0: each is a pass over C's
            # rows, and FedMF and FedNCF (no decay on C, no FedProx) would pay for two.
            step, decay = t.glob.grad, client_c_decay(self.cfg)
            if decay:
                step = step + decay * t.glob
            if prox:
                step = step + prox * (t.glob - t.anchor)
            t.glob.sub_(lr_row * step)

    @torch.no_grad()
    def _step_params(self, t: _Leaves, lr_head: torch.Tensor) -> None:
        wd = self.cfg.weight_decay
        for p in t.params():
            lr = lr_head.view(-1, *([1] * (p.dim() - 1)))
            grad = p.grad if p.grad is not None else torch.zeros_like(p)
            p.sub_(lr * (grad + wd * p))

    def _losses(
        self,
        t: _Leaves,
        hits: torch.Tensor,
        pos: torch.Tensor,
        counts: torch.Tensor,
        fixed: str = "",
    ) -> torch.Tensor:
        """Per user: BCE − λ·mean((D − C)²) + μ·mean|C| over its batch, as ``per_user.py``.

        ``fixed``: ``"items"`` or ``"params"`` stops the gradient into those tensors.
        """
        width = t.local.shape[1]
        inv_n = (1.0 / counts.clamp(min=1))[self.row_user]
        params = {**t.private, **t.shared}
        if fixed == "params":
            params = {k: v.detach() for k, v in params.items()}
        rows = t.local + t.glob
        logits = functional_call(
            self.module, params, (self.padded.block(rows.detach() if fixed == "items" else rows),)
        )
        prob = torch.sigmoid(self.padded.rows(logits))
        ones = torch.ones_like(prob)
        bce = pos * F.binary_cross_entropy(prob, ones, reduction="none")
        bce = bce + (hits - pos) * F.binary_cross_entropy(prob, ones - 1, reduction="none")
        penalty = self._penalty(t)
        row_loss = (bce if penalty is None else bce + hits / width * penalty) * inv_n
        return torch.zeros(len(counts)).index_add(0, self.row_user, row_loss)

    def _penalty(self, t: _Leaves) -> torch.Tensor | None:
        """Per row: μ·|C| (or μ·C²) − λ·(D − C)², leaving out terms whose weight is zero.

        FedMF, FedNCF and the no-D ablation have μ or λ at zero (or no D); computing such a
        term and its gradient would cost passes over the rows for an exact zero.
        """
        s, penalty = self.settings, None
        if self.c_on and s.mu:
            reg = t.glob.abs().sum(1) if self.cfg.regulariser == "l1" else (t.glob * t.glob).sum(1)
            penalty = s.mu * reg
        if self.d_on and self.c_on and s.lam:
            gap = s.lam * ((t.local - t.glob) ** 2).sum(1)
            penalty = -gap if penalty is None else penalty - gap
        return penalty
