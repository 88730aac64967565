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

import warnings
from dataclasses import dataclass

import torch

from fedrec.algorithms.fedrap.samples import RoundSamples, batch_index
from fedrec.config.schema import FedRAPConfig
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
    loss: torch.Tensor  # (U,) running mean loss, as the reference reports it
    epochs: torch.Tensor  # (U,) epochs run before the early stop


@dataclass
class _Tables:
    """The cohort's touched rows in sum/difference form, plus preallocated work buffers.

    With ``E = D + C`` and ``F = D − C`` per row, the score needs only ``E``, and one SGD step
    with weight decay ω becomes per-row scalars times ``E``, ``F``, the head ``w`` and
    ``s = sign(C)`` (``2C`` for l2), where ``g`` is the logit gradient and ``c`` the row's weight
    in the user's means: ``E ← (1 − ηω)E − 2ηg·w − ημc·s`` and
    ``F ← (1 − ηω + 4ηλc)F + ημc·s``, done in place without allocating. Ablations freeze one
    view at zero (``a_D`` or ``a_C`` = 0, and no difference regulariser); then in general
    ``E ← (1 − ηω)E − η(a_D + a_C)g·w − ηa_Cμc·s`` and
    ``F ← (1 − ηω + 4ηa_Da_Cλc)F + η(a_C − a_D)g·w + ηa_Cμc·s``.
    """

    sums: torch.Tensor  # E, (R, dim)
    gaps: torch.Tensor  # F, (R, dim)
    weight: torch.Tensor  # (U, dim)
    bias: torch.Tensor  # (U,)
    head_rows: torch.Tensor  # buffer: weight gathered per row
    reg_rows: torch.Tensor  # buffer: C
    reg_grad: torch.Tensor  # buffer: sign(C) or 2C
    user_of_rows: torch.Tensor  # sparse CSR (U, R) pattern: which rows belong to which user
    anchor: torch.Tensor  # G on the touched rows (FedProx's proximal centre)

    @classmethod
    def gather(cls, state: TouchedState, item_global: torch.Tensor, s: RoundSamples) -> _Tables:
        local = state.local_rows
        glob = item_global[s.row_item]
        per_user = torch.bincount(s.row_user, minlength=len(s.users))
        crow = torch.zeros(len(s.users) + 1, dtype=torch.int64)
        torch.cumsum(per_user, 0, out=crow[1:])
        cols = torch.arange(len(s.row_user))
        shape = (len(s.users), len(cols))
        with warnings.catch_warnings():  # CSR is "beta" in torch; sparse.mm on it is stable
            warnings.simplefilter("ignore", UserWarning)
            pattern = torch.sparse_csr_tensor(crow, cols, torch.ones(len(cols)), shape)
        return cls(
            sums=local + glob,
            gaps=local - glob,
            weight=state.head_weight.clone(),
            bias=state.head_bias.clone(),
            head_rows=torch.empty_like(glob),
            reg_rows=torch.empty_like(glob),
            reg_grad=torch.empty_like(glob),
            user_of_rows=pattern,
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

    Returns
    -------
    CohortUpdate
        What the cohort contributes to aggregation, and its training loss.
    """
    n_users = len(samples.users)
    tables = _Tables.gather(state, item_global, samples)
    alive = torch.ones(n_users, dtype=torch.bool)
    steps = torch.zeros(n_users)
    scale = torch.ones(n_users)
    loss_sum = torch.zeros(n_users, dtype=torch.float64)
    seen = torch.zeros(n_users, dtype=torch.float64)
    previous = torch.zeros(n_users, dtype=torch.float64)
    epochs = torch.zeros(n_users, dtype=torch.int64)
    n_batches = (samples.user_count + cfg.batch_size - 1) // cfg.batch_size
    for epoch in range(cfg.local_epochs):
        batch = batch_index(samples, cfg.batch_size, settings.keys, epoch)
        for slot in range(int(torch.where(alive, n_batches, 0).max())):
            active = alive & (n_batches > slot)
            in_step = active[samples.sample_user] & (batch == slot)
            losses, counts = _step(tables, samples, in_step, active, steps, scale, cfg, settings)
            loss_sum += (losses * counts).double()
            seen += counts.double()
            steps += active.float()
        epochs += alive.long()
        running = loss_sum / seen.clamp(min=1)
        if epoch > 0:
            converged = (running - previous).abs() / previous.abs() < cfg.tol
            alive &= ~converged
        previous = running
        if not bool(alive.any()):
            break
    state.local_rows = tables.local_rows()
    state.head_weight, state.head_bias = tables.weight, tables.bias
    return CohortUpdate(
        row_user=samples.row_user,
        row_item=samples.row_item,
        global_rows=tables.global_rows(),
        untouched_scale=scale,
        loss=loss_sum / seen.clamp(min=1),
        epochs=epochs,
    )


@dataclass
class _RowGrads:
    """What the update needs from the forward pass, per row (plus the head's gradients)."""

    g_logit: torch.Tensor
    coef: torch.Tensor
    g_weight: torch.Tensor
    g_bias: torch.Tensor


def _step(
    t: _Tables,
    s: RoundSamples,
    in_step: torch.Tensor,
    active: torch.Tensor,
    steps: torch.Tensor,
    scale: torch.Tensor,
    cfg: FedRAPConfig,
    rs: RoundSettings,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One SGD step of every active user on its current batch; return losses and batch sizes.

    All samples of one (user, item) row share its score, so the step works on rows: a row
    enters with how often it occurs in the batch (``hits``) and how many of those are positives.
    """
    rows = s.sample_row[in_step]
    hits = torch.bincount(rows, minlength=len(s.row_user)).float()
    pos = torch.bincount(rows, weights=s.label[in_step], minlength=len(s.row_user)).float()
    counts = torch.zeros(len(s.users)).index_add_(0, s.row_user, hits)
    losses, grads = _forward(t, s.row_user, hits, pos, counts, cfg, rs)
    decay = cfg.batch_lr_decay**steps
    lr_emb = torch.where(active, rs.lr_embedding * decay, 0.0)
    lr_head = torch.where(active, rs.lr_head * decay, 0.0)
    _update(t, grads, lr_emb[s.row_user], lr_head, cfg, rs)
    if rs.proximal_mu > 0:
        _proximal_step(t, lr_emb, s.row_user, scale, cfg.weight_decay, rs.proximal_mu)
    else:
        scale.mul_(1 - lr_emb * cfg.weight_decay)
    return losses, counts


# --- FedProx (issue 5): the proximal term's gradient μ(C − G), kept apart from the FedRAP step.
def _proximal_step(
    t: _Tables,
    lr_emb: torch.Tensor,
    row_user: torch.Tensor,
    scale: torch.Tensor,
    wd: float,
    mu: float,
) -> None:
    """Add FedProx's ``−η·μ(C − G)`` to C on touched rows and to the untouched-row scale.

    ``t.reg_rows`` still holds C before this step. On touched rows C moves by ``δ`` so
    ``E = D + C`` gains ``−δ`` and ``F = D − C`` gains ``+δ``. An untouched row is ``s·G``, so
    ``s ← s(1 − ηω) − ημ(s − 1)`` keeps it a multiple of G.
    """
    delta = t.reg_rows.sub(t.anchor).mul_((lr_emb[row_user] * mu).unsqueeze(1))
    t.sums.sub_(delta)
    t.gaps.add_(delta)
    scale.mul_(1 - lr_emb * (wd + mu)).add_(lr_emb * mu)


# --- end FedProx


def _forward(
    t: _Tables,
    row_user: torch.Tensor,
    hits: torch.Tensor,
    pos: torch.Tensor,
    counts: torch.Tensor,
    cfg: FedRAPConfig,
    rs: RoundSettings,
) -> tuple[torch.Tensor, _RowGrads]:
    """Per-user losses and closed-form gradients; fills the head and regulariser buffers.

    The BCE gradient reproduces torch's ``binary_cross_entropy`` backward, including its
    ``max(p(1 − p), 1e-12)`` guard, so saturated scores train exactly as in the reference.
    """
    n_users, dim = len(counts), t.sums.shape[1]
    inv_n = (1.0 / counts.clamp(min=1))[row_user]
    coef = hits * inv_n / dim  # weight of a row in the user's means over batch × dim
    torch.index_select(t.weight, 0, row_user, out=t.head_rows)
    prob = torch.sigmoid(torch.einsum("rd,rd->r", t.sums, t.head_rows) + t.bias[row_user])
    torch.sub(t.sums, t.gaps, out=t.reg_rows).mul_(0.5)  # C
    if cfg.regulariser == "l1":
        torch.sign(t.reg_rows, out=t.reg_grad)
        reg = torch.einsum("rd,rd->r", t.reg_rows, t.reg_grad)
    else:
        torch.mul(t.reg_rows, 2, out=t.reg_grad)
        reg = torch.einsum("rd,rd->r", t.reg_rows, t.reg_rows)
    gap = torch.einsum("rd,rd->r", t.gaps, t.gaps)
    log_p, log_q = prob.log().clamp(min=-100), (1 - prob).log().clamp(min=-100)
    bce = -(pos * log_p + (hits - pos) * log_q) * inv_n
    d_on, c_on = _trained_views(cfg)
    row_loss = bce + coef * (c_on * rs.mu * reg - d_on * c_on * rs.lam * gap)
    losses = torch.zeros(n_users).index_add_(0, row_user, row_loss)
    spread = prob * (1 - prob)
    g_logit = (hits * prob - pos) * inv_n * spread / spread.clamp(min=1e-12)
    g_weight = _user_sums(t.user_of_rows, g_logit, t.sums)
    g_bias = torch.zeros(n_users).index_add_(0, row_user, g_logit)
    return losses, _RowGrads(g_logit, coef, g_weight, g_bias)


def _update(
    t: _Tables,
    g: _RowGrads,
    lr_row: torch.Tensor,
    lr_head: torch.Tensor,
    cfg: FedRAPConfig,
    rs: RoundSettings,
) -> None:
    """Apply one SGD step with weight decay in place (the recurrences in :class:`_Tables`)."""
    d_on, c_on = _trained_views(cfg)
    wd = cfg.weight_decay
    keep = (1 - lr_row * wd).unsqueeze(1)
    t.sums.mul_(keep).addcmul_(t.head_rows, (-(d_on + c_on) * lr_row * g.g_logit).unsqueeze(1))
    t.sums.addcmul_(t.reg_grad, (-c_on * lr_row * rs.mu * g.coef).unsqueeze(1))
    t.gaps.mul_(keep + (4 * d_on * c_on * rs.lam * lr_row * g.coef).unsqueeze(1))
    if d_on != c_on:
        t.gaps.addcmul_(t.head_rows, ((c_on - d_on) * lr_row * g.g_logit).unsqueeze(1))
    t.gaps.addcmul_(t.reg_grad, (c_on * lr_row * rs.mu * g.coef).unsqueeze(1))
    t.weight.sub_(lr_head.unsqueeze(1) * g.g_weight.add_(t.weight, alpha=wd))
    t.bias.sub_(lr_head * g.g_bias.add_(t.bias, alpha=wd))


def _trained_views(cfg: FedRAPConfig) -> tuple[float, float]:
    """Return (D trained, C trained) as 1.0/0.0; a frozen view stays at its zero start."""
    return float(cfg.variant != "global_only"), float(cfg.variant != "local_only")


def _user_sums(pattern: torch.Tensor, row_values: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Return ``Σ_{r of u} row_values[r] · rows[r]`` per user, as one sparse matmul."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        weighted = torch.sparse_csr_tensor(
            pattern.crow_indices(), pattern.col_indices(), row_values, pattern.shape
        )
    out: torch.Tensor = torch.sparse.mm(weighted, rows)
    return out


def sum_global_updates(
    item_global: torch.Tensor, update: CohortUpdate, weights: torch.Tensor
) -> torch.Tensor:
    """Return ``Σ_u w_u · C_u`` over the cohort without materialising any user's full C.

    ``C_u = s_u · C`` on rows the user did not touch and its trained rows elsewhere, so the sum
    is ``(Σ w_u s_u) · C`` plus the weighted corrections on touched rows.
    """
    total = item_global * float((weights * update.untouched_scale).sum())
    w_row = weights[update.row_user].unsqueeze(1)
    base = update.untouched_scale[update.row_user].unsqueeze(1) * item_global[update.row_item]
    return total.index_add_(0, update.row_item, w_row * (update.global_rows - base))
