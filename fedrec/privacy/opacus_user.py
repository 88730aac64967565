"""DP-SGD of one user's FedRAP model with Opacus: the readable oracle of the cohort path.

The user's :class:`~fedrec.models.fedrap.AdditiveItemScorer` is wrapped in Opacus'
``GradSampleModule`` (it computes per-sample gradients of ``nn.Linear`` and ``nn.Embedding``) and
its ``torch.optim.SGD`` in a ``DPOptimizer``, so every trained parameter (head, D and C) is
clipped per sample and noised. Batches are given as masks, so a test can feed the cohort path the
very same ones; :func:`fedrec.privacy.batches.poisson_steps` draws them as Opacus' Poisson
data loader does.
"""

from __future__ import annotations

import warnings

import torch
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer

from fedrec.algorithms.fedrap.per_user import fedrap_loss
from fedrec.config.schema import FedRAPConfig
from fedrec.models.fedrap import AdditiveItemScorer


def private_optimizer(
    model: AdditiveItemScorer,
    cfg: FedRAPConfig,
    lrs: tuple[float, float],
    dp: tuple[float, float, int],
    generator: torch.Generator | None,
) -> DPOptimizer:
    """Return the reference's SGD (head and embedding learning rates) wrapped by Opacus.

    ``model`` is the plain model whose parameters the ``GradSampleModule`` around it shares.
    ``dp`` is ``(noise multiplier σ, clipping bound S, expected batch size)``. Views the variant
    freezes are left out of the optimizer and of the clipping norm.
    """
    groups = [{"params": list(model.head.parameters()), "lr": lrs[0]}]
    frozen = {"global_only": model.item_local, "local_only": model.item_global}.get(cfg.variant)
    for view in (model.item_local, model.item_global):
        if view is frozen:
            view.weight.requires_grad_(False)
        else:
            groups.append({"params": [view.weight], "lr": lrs[1]})
    sgd = torch.optim.SGD(groups, weight_decay=cfg.weight_decay)
    sigma, bound, expected = dp
    return DPOptimizer(
        sgd,
        noise_multiplier=sigma,
        max_grad_norm=bound,
        expected_batch_size=expected,
        loss_reduction="mean",
        generator=generator,
    )


def train_user_opacus(
    model: AdditiveItemScorer,
    items: torch.Tensor,
    labels: torch.Tensor,
    batches: list[torch.Tensor],
    cfg: FedRAPConfig,
    weights: tuple[float, float, float, float],
    dp: tuple[float, float, int],
    generator: torch.Generator | None = None,
) -> float:
    """Train one user's model in place with Opacus DP-SGD, one step per batch mask.

    Parameters
    ----------
    model : AdditiveItemScorer
        The user's model, with the server's C loaded into ``item_global``.
    items, labels : torch.Tensor
        The user's samples this round.
    batches : list of torch.Tensor
        One boolean mask over the samples per step (empty batches still step: noise only).
    cfg : FedRAPConfig
        Hyperparameters; ``local_epochs`` and ``tol`` are not read (the masks are the steps).
    weights : tuple of float
        ``(λ, μ, head lr, embedding lr)`` for this round.
    dp : tuple of (float, float, int)
        ``(σ, S, expected batch size)``.
    generator : torch.Generator, optional
        Source of Opacus' noise.

    Returns
    -------
    float
        The mean loss over every sample of every step.
    """
    lam, mu, lr_head, lr_emb = weights
    optimizer = private_optimizer(model, cfg, (lr_head, lr_emb), dp, generator)
    wrapped = GradSampleModule(model, loss_reduction="mean")
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.batch_lr_decay)
    total, seen = 0.0, 0
    for mask in batches:
        optimizer.zero_grad()
        if bool(mask.any()):
            logits, local_rows, global_rows = wrapped(items[mask])
            loss = fedrap_loss(
                logits, labels[mask], local_rows, global_rows, lam, mu, cfg.regulariser
            )
            with warnings.catch_warnings():  # Opacus' hooks fire on outputs: inputs are indices
                warnings.filterwarnings("ignore", "Full backward hook", UserWarning)
                loss.backward()  # type: ignore[no-untyped-call]
            total += loss.item() * int(mask.sum())
            seen += int(mask.sum())
        else:
            _empty_batch(optimizer)
        optimizer.step()
        scheduler.step()
    wrapped.to_standard_module()  # removes Opacus' hooks, leaving the plain model trained
    return total / max(seen, 1)


def _empty_batch(optimizer: DPOptimizer) -> None:
    """Give every parameter an empty per-sample gradient: Opacus then steps on noise alone."""
    for param in optimizer.params:
        param.grad_sample = torch.zeros((0, *param.shape), dtype=param.dtype)
