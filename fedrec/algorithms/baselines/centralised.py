"""Centralised training: all users' training data pooled, one model, an upper reference.

The configured base model (user parameters per user, one item table, one tower) is trained with
Adam on mini-batches drawn from every user's samples together (positives and negatives of the
same protocol as the federated algorithms, redrawn every round), and evaluated with the same
split, ranks and metrics. Since nothing is private, the whole model and Adam's moments are the
"global arrays": the node that hosts user 0 trains on everyone's data and returns them with
weight 1; the other nodes contribute nothing. Participation and dropout do not apply.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from fedrec.algorithms.additive.node import cohort_logits
from fedrec.algorithms.base import DEFAULT_OPTIONS, GlobalArrays, NodeData, NodeUpdate, TrainOptions
from fedrec.algorithms.fedrap.samples import build_round_samples
from fedrec.algorithms.ranks import collect_ranks, rank_held_out
from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray, SplitData
from fedrec.models import model_class
from fedrec.models.params import ModelLayout, model_layout
from fedrec.rng import Stream, uniform

CENTRAL = "central-model"
ADAM = "central-adam"  # Adam's first and second moments and its step count, flat
_BETAS, _EPS = (0.9, 0.999), 1e-8


@dataclass(frozen=True)
class _Parts:
    """Where the item table, the users' parameters and the shared ones sit in the flat vector."""

    n_items: int
    width: int
    n_users: int
    layout: ModelLayout

    def split(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a = self.n_items * self.width
        b = a + self.n_users * self.layout.private.size
        items = flat[:a].view(self.n_items, self.width)
        return items, flat[a:b].view(self.n_users, -1), flat[b:]


class Centralised:
    """One model over the pooled data (see the module docstring).

    Parameters
    ----------
    cfg : ExperimentConfig
        The experiment: ``cfg.model`` the base model, ``cfg.centralised`` the optimiser.
    """

    def __init__(self, cfg: ExperimentConfig) -> None:
        self.cfg = cfg

    def initial_global(self, split: SplitData) -> dict[str, np.ndarray]:
        """Return the N(0, 1) item table, every user's and the shared initial parameters."""
        parts = self._parts(split)
        gen = torch.Generator().manual_seed(self.cfg.seed)
        items = torch.randn(split.n_items * parts.width, generator=gen)
        users = parts.layout.initial_private.repeat(split.n_users)
        flat = torch.cat([items, users, parts.layout.initial_shared])
        return {CENTRAL: flat.numpy(), ADAM: np.zeros(2 * len(flat) + 1, dtype=np.float32)}

    def train_node(
        self,
        node: NodeData,
        arrays: GlobalArrays,
        server_round: int,
        options: TrainOptions = DEFAULT_OPTIONS,
    ) -> NodeUpdate:
        """On the node hosting user 0, train the model on all users' data; elsewhere nothing."""
        start = time.perf_counter()
        if options.per_user:
            raise ValueError("algorithm=centralised has no per-user updates; use fedavg")
        split = node.split
        if len(node.hosted) == 0 or int(node.hosted[0]) != 0:
            zeros = {k: torch.zeros_like(v) for k, v in arrays.items()}
            seconds = time.perf_counter() - start
            return NodeUpdate(zeros, 0.0, 0, 0, 0, 0.0, 0, seconds, upload_bytes=0)
        flat, adam = arrays[CENTRAL].clone(), arrays[ADAM].clone()
        loss, examples = _train(self.cfg, self._parts(split), split, (flat, adam), server_round)
        return NodeUpdate(
            sums={CENTRAL: flat, ADAM: adam},
            weight_sum=1.0,
            num_users=split.n_users,
            num_examples=examples,
            num_dropped=0,
            loss_sum=loss * split.n_users,
            epochs_sum=self.cfg.centralised.epochs * split.n_users,
            train_seconds=time.perf_counter() - start,
            upload_bytes=0,  # a reference without federation: no model messages
        )

    def evaluate_node(self, node: NodeData, arrays: GlobalArrays) -> dict[str, IntArray]:
        """Rank every hosted user's held-out items under the central model."""
        parts = self._parts(node.split)
        items, users, shared = parts.split(arrays[CENTRAL])

        @torch.no_grad()
        def rank(cohort: IntArray) -> dict[str, torch.Tensor]:
            idx = torch.from_numpy(cohort)
            block = items.unsqueeze(0).expand(len(cohort), -1, -1)
            scores = cohort_logits(self.cfg, parts.layout, block, users[idx], shared)
            return rank_held_out(scores, node.split, cohort)

        return collect_ranks(node.hosted, 256, rank)

    def _parts(self, split: SplitData) -> _Parts:
        width = model_class(self.cfg.model).item_width(self.cfg.fedrap.dim, self.cfg.model)
        layout = _layout(self.cfg)
        return _Parts(split.n_items, width, split.n_users, layout)


@lru_cache(maxsize=8)
def _layout(cfg: ExperimentConfig) -> ModelLayout:
    return model_layout(cfg.model, cfg.fedrap.dim, cfg.seed)


def _train(
    cfg: ExperimentConfig,
    parts: _Parts,
    split: SplitData,
    state: tuple[torch.Tensor, torch.Tensor],
    server_round: int,
) -> tuple[float, int]:
    """Run ``centralised.epochs`` of Adam over the pooled samples; update ``state`` in place."""
    flat, adam = state
    c = cfg.centralised
    keys = (cfg.seed, server_round)
    users = np.arange(split.n_users)
    s = build_round_samples(split, users, cfg.protocol, cfg.fedrap.num_negatives, keys)
    sample_item = s.row_item[s.sample_row]
    param = flat.requires_grad_()
    total, seen = 0.0, 0
    for epoch in range(c.epochs):
        noise = uniform(*keys, Stream.SHUFFLE, epoch, s.users[s.sample_user], s.sample_pos)
        order = torch.from_numpy(np.argsort(noise, kind="stable"))
        for batch in torch.split(order, c.batch_size):
            items, private, shared = parts.split(param)
            block = items[sample_item[batch]].unsqueeze(1)
            logits = cohort_logits(cfg, parts.layout, block, private[s.sample_user[batch]], shared)
            loss = F.binary_cross_entropy_with_logits(logits.squeeze(1), s.label[batch])
            (grad,) = torch.autograd.grad(loss, param)
            _adam_step(param, grad, adam, c.lr)
            total += float(loss.detach()) * len(batch)
            seen += len(batch)
    flat.requires_grad_(False)
    return total / max(seen, 1), len(s.label)


@torch.no_grad()
def _adam_step(param: torch.Tensor, grad: torch.Tensor, adam: torch.Tensor, lr: float) -> None:
    """One dense Adam step (as ``torch.optim.Adam``); moments and step live in ``adam``."""
    n = len(param)
    m, v = adam[:n], adam[n : 2 * n]
    adam[-1] += 1
    step = float(adam[-1])
    m.mul_(_BETAS[0]).add_(grad, alpha=1 - _BETAS[0])
    v.mul_(_BETAS[1]).addcmul_(grad, grad, value=1 - _BETAS[1])
    m_hat = m / (1 - _BETAS[0] ** step)
    v_hat = v / (1 - _BETAS[1] ** step)
    param.sub_(lr * m_hat / (v_hat.sqrt() + _EPS))
