"""One SGD step of FedRAP on a cohort's touched rows, as a single pure function.

``sgd_rows`` is the joint step; ``head_gradients`` the heads' half of PFedRec's two-step update.

Local training is memory-bound: a step is a few multiply-adds per float of the row tables. Written
as separate torch operations it passes over the ``(R, dim)`` tables about thirty times; compiled
with ``torch.compile`` (Inductor's C++ backend) the step fuses into a few loops that read ``E``,
``F`` and the head and write ``E`` and ``F`` about once each.

Compiling costs tens of seconds once per process (Inductor caches kernels on disk for later
processes), so small cohorts run the same function eagerly. Without a working C++ compiler the
compiled path fails once, is logged, and the process stays eager.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import NamedTuple

import torch

from fedrec.config.schema import Kernel

log = logging.getLogger(__name__)

#: Under ``auto``, cohorts with at least this many touched rows use the compiled step.
AUTO_COMPILE_ROWS = 10_000


class StepScalars(NamedTuple):
    """Per-step scalars as 0-d tensors, so a compiled step does not specialise on their values."""

    lam: torch.Tensor
    mu: torch.Tensor
    weight_decay: torch.Tensor
    c_weight_decay: torch.Tensor  # C's decay on the client: 0 when the server applies it
    d_on: torch.Tensor  # 1.0 when D is trained, else 0.0 (it stays at its zero start)
    c_on: torch.Tensor  # the same for C
    prox: torch.Tensor  # FedProx's μ: μ/2 · ‖C − G‖² in the loss (used only with an anchor)
    rho: torch.Tensor  # D's learning rate as a multiple of C's (``fedrap.local_lr_scale``)


def sgd_rows(
    sums: torch.Tensor,
    gaps: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    row_user: torch.Tensor,
    hits: torch.Tensor,
    pos: torch.Tensor,
    inv_n: torch.Tensor,
    lr_row: torch.Tensor,
    k: StepScalars,
    l1: bool,
    anchor: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Update ``E = D + C`` and ``F = D − C`` in place; return per-user loss and head gradients.

    Parameters
    ----------
    sums, gaps : torch.Tensor
        ``E`` and ``F`` on the touched rows, shape ``(R, dim)``; updated in place.
    weight, bias : torch.Tensor
        The users' score heads, ``(U, dim)`` and ``(U,)``; read only.
    row_user : torch.Tensor
        Local user of every row, ``(R,)``.
    hits, pos : torch.Tensor
        How often each row occurs in the step's batch, and how many of those are positives.
    inv_n : torch.Tensor
        ``1 / batch size`` of the row's user.
    lr_row : torch.Tensor
        The row's user's embedding learning rate this step (0 for inactive users).
    k : StepScalars
        λ, μ, weight decay (of D, and of C on the client) and which views are trained.
    l1 : bool
        L1 penalty on C (else squared L2).
    anchor : torch.Tensor, optional
        FedProx's centre, the global C on the touched rows: adds ``k.prox/2 · ‖C − G‖²``.

    Returns
    -------
    loss, g_weight, g_bias : torch.Tensor
        Per user: its loss on the batch, and the gradients of its head weight ``Σ_r g_r E_r``
        (``E`` before the update) and bias ``Σ_r g_r``, where ``g_r`` is the loss gradient
        w.r.t. row ``r``'s logit.

    Notes
    -----
    The BCE gradient reproduces torch's ``binary_cross_entropy`` backward, including its
    ``max(p(1 − p), 1e-12)`` guard. With ``c`` the row's weight in its user's means over batch
    and dimensions, ``s = sign(C)`` (or ``2C``), ``g`` the logit gradient, weight decay ω and the
    learning rates ``η_D = ρη`` and ``η_C = η``, SGD moves
    ``D ← (1 − η_Dω)D − η_D a_D g·w + 2η_D a_D a_C λc·F`` and
    ``C ← (1 − η_Cω)C − η_C a_C g·w − η_C a_C μc·s − 2η_C a_D a_C λc·F``; ``E = D + C`` and
    ``F = D − C`` follow by adding and subtracting (with ρ = 1 the mixed terms vanish).
    """
    dim = sums.shape[1]
    head = weight[row_user]
    coef = hits * inv_n / dim
    bce, g_logit = _logit_gradient(sums, head, bias[row_user], hits, pos, inv_n)
    twice_c = sums - gaps
    if l1:
        reg_grad = torch.sign(twice_c)
        reg = 0.5 * twice_c.abs().sum(1)
    else:
        reg_grad = twice_c
        reg = 0.25 * (twice_c * twice_c).sum(1)
    gap = (gaps * gaps).sum(1)
    row_loss = bce + coef * (k.c_on * k.mu * reg - k.d_on * k.c_on * k.lam * gap)
    loss = torch.zeros_like(bias).index_add_(0, row_user, row_loss)
    g_weight = torch.zeros_like(weight).index_add_(0, row_user, g_logit[:, None] * sums)
    g_bias = torch.zeros_like(bias).index_add_(0, row_user, g_logit)
    keep_c = 1 - lr_row * k.c_weight_decay
    keep_d = 1 - k.rho * lr_row * k.weight_decay
    keep, mix = ((keep_d + keep_c) / 2)[:, None], ((keep_d - keep_c) / 2)[:, None]
    g_head = (lr_row * g_logit)[:, None] * head
    l1_step = (k.c_on * k.mu * lr_row * coef)[:, None] * reg_grad
    push = 2 * k.d_on * k.c_on * k.lam * lr_row * coef  # C's step along F; D's is ρ times it
    a_d = k.rho * k.d_on
    new_sums = keep * sums + (mix + ((k.rho - 1) * push)[:, None]) * gaps
    new_sums = new_sums - (a_d + k.c_on) * g_head - l1_step
    new_gaps = mix * sums + (keep + ((k.rho + 1) * push)[:, None]) * gaps
    new_gaps = new_gaps + (k.c_on - a_d) * g_head + l1_step
    if anchor is not None:  # C moves by −ημ(C − G): E = D + C with it, F = D − C against it
        pull = (lr_row * k.prox)[:, None] * (0.5 * twice_c - anchor)
        new_sums = new_sums - pull
        new_gaps = new_gaps + pull
    sums.copy_(new_sums)
    gaps.copy_(new_gaps)
    return loss, g_weight, g_bias


def head_gradients(
    sums: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    row_user: torch.Tensor,
    hits: torch.Tensor,
    pos: torch.Tensor,
    inv_n: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the gradients of every user's batch loss w.r.t. its head, the rows held fixed.

    The first half of PFedRec's two-step update; the regularisers do not involve the head, so
    these equal the ``g_weight`` and ``g_bias`` that :func:`sgd_rows` returns.
    """
    _, g_logit = _logit_gradient(sums, weight[row_user], bias[row_user], hits, pos, inv_n)
    g_weight = torch.zeros_like(weight).index_add_(0, row_user, g_logit[:, None] * sums)
    g_bias = torch.zeros_like(bias).index_add_(0, row_user, g_logit)
    return g_weight, g_bias


def _logit_gradient(
    sums: torch.Tensor,
    head: torch.Tensor,
    bias: torch.Tensor,
    hits: torch.Tensor,
    pos: torch.Tensor,
    inv_n: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: its share of the user's mean BCE, and the gradient of that w.r.t. its logit."""
    prob = torch.sigmoid((sums * head).sum(1) + bias)
    log_p, log_q = prob.log().clamp(min=-100), (1 - prob).log().clamp(min=-100)
    bce = -(pos * log_p + (hits - pos) * log_q) * inv_n
    spread = prob * (1 - prob)
    return bce, (hits * prob - pos) * inv_n * spread / spread.clamp(min=1e-12)


StepFn = Callable[..., tuple[torch.Tensor, ...]]


class _Compiled:
    """``fn`` compiled on first use; after any compiler failure the process runs it eagerly."""

    failed = False  # shared by every compiled step: one failure means no working compiler

    def __init__(self, fn: StepFn) -> None:
        self.fn = fn
        self.compiled: StepFn | None = None

    def __call__(self, *args: object, **kwargs: object) -> tuple[torch.Tensor, ...]:
        if _Compiled.failed:
            return self.fn(*args, **kwargs)
        if self.compiled is None:
            self.compiled = torch.compile(self.fn, dynamic=True, fullgraph=True)
        try:
            with warnings.catch_warnings():  # compiling imports torch.jit, which warns about itself
                warnings.simplefilter("ignore", DeprecationWarning)
                return self.compiled(*args, **kwargs)
        except Exception as err:  # any compiler failure means: run eagerly
            _Compiled.failed = True
            log.warning("torch.compile of %s failed (%s); running eagerly", self.fn.__name__, err)
            return self.fn(*args, **kwargs)


_COMPILED: dict[StepFn, _Compiled] = {fn: _Compiled(fn) for fn in (sgd_rows, head_gradients)}


def step_for(rows: int, mode: Kernel, fn: StepFn = sgd_rows) -> StepFn:
    """Return ``fn`` (a function of this module) compiled or eager for a cohort of ``rows`` rows."""
    wanted = mode == "compiled" or (mode == "auto" and rows >= AUTO_COMPILE_ROWS)
    return _COMPILED[fn] if wanted and not _Compiled.failed else fn
