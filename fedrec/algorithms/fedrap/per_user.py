"""FedRAP local training for one user, written the way the reference code does it.

One ``nn.Module``, one ``torch.optim.SGD`` with separate learning rates for the head and the
embeddings, dense weight decay, an ``ExponentialLR`` stepped per batch, and the relative-loss
early stop on the running mean. It is the readable specification of local training, the
oracle the vectorised cohort path is tested against, and the path Opacus can wrap.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812

from fedrec.algorithms.fedrap.curriculum import client_c_decay
from fedrec.config.schema import FedRAPConfig
from fedrec.models.fedrap import AdditiveItemScorer


def fedrap_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    local_rows: torch.Tensor,
    global_rows: torch.Tensor,
    lam: float,
    mu: float,
    regulariser: str,
) -> torch.Tensor:
    """Return BCE − λ·mean((D − C)²) + μ·mean|C| (``l1``) or μ·mean(C²) (``l2``) on one batch."""
    bce = F.binary_cross_entropy(torch.sigmoid(logits), labels)
    gap = F.mse_loss(local_rows, global_rows)
    target = torch.zeros_like(global_rows)
    reg = F.l1_loss(global_rows, target) if regulariser == "l1" else F.mse_loss(global_rows, target)
    return bce - lam * gap + mu * reg


def train_user(
    model: AdditiveItemScorer,
    items: torch.Tensor,
    labels: torch.Tensor,
    batches: list[torch.Tensor],
    cfg: FedRAPConfig,
    weights: tuple[float, float, float, float],
) -> tuple[float, int]:
    """Train one user's model in place for up to ``cfg.local_epochs`` epochs.

    Parameters
    ----------
    model : AdditiveItemScorer
        The user's model, with the server's C loaded into ``item_global``.
    items, labels : torch.Tensor
        The user's samples this round.
    batches : list of torch.Tensor
        Per epoch, the batch index of every sample (the shuffle, given so tests can share it).
    cfg : FedRAPConfig
        Hyperparameters.
    weights : tuple of float
        ``(λ, μ, head lr, embedding lr)`` for this round.

    Returns
    -------
    tuple of (float, int)
        The running mean loss at the stop, and the number of epochs run.
    """
    lam, mu, lr_head, lr_emb = weights
    groups = [{"params": list(model.head.parameters()), "lr": lr_head}]
    if cfg.variant != "global_only":
        local_lr = lr_emb * cfg.local_lr_scale
        groups.append({"params": list(model.item_local.parameters()), "lr": local_lr})
    if cfg.variant != "local_only":
        c_params = list(model.item_global.parameters())
        groups.append({"params": c_params, "lr": lr_emb, "weight_decay": client_c_decay(cfg)})
    optimizer = torch.optim.SGD(groups, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.batch_lr_decay)
    total, seen, history = 0.0, 0, []
    for epoch in range(cfg.local_epochs):
        for slot in range(int(batches[epoch].max()) + 1):
            mask = batches[epoch] == slot
            optimizer.zero_grad()
            logits, local_rows, global_rows = model(items[mask])
            loss = fedrap_loss(
                logits, labels[mask], local_rows, global_rows, lam, mu, cfg.regulariser
            )
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            scheduler.step()
            total += loss.item() * int(mask.sum())
            seen += int(mask.sum())
        history.append(total / seen)
        if epoch > 0 and abs(history[-1] - history[-2]) / abs(history[-2]) < cfg.tol:
            break
    return history[-1], len(history)
