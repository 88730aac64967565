"""Named algorithms built from FedRAP on a base model: FedMF, FedNCF and FedRAP's ablations.

Each is a config transformation followed by :func:`fedrap_on_base`, so every one runs on any
base model (``model.name``) and under the same data, split, protocol and metrics.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fedrec.algorithms.additive.algorithm import fedrap_on_base
from fedrec.algorithms.base import Algorithm
from fedrec.config.schema import ExperimentConfig


def _with(cfg: ExperimentConfig, **fedrap: Any) -> ExperimentConfig:
    return dataclasses.replace(cfg, fedrap=dataclasses.replace(cfg.fedrap, **fedrap))


def fedmf(cfg: ExperimentConfig) -> Algorithm:
    """FedMF: shared item embeddings, private user side, BCE (no D, no L1 on C)."""
    return fedrap_on_base(_with(cfg, variant="global_only", mu=0.0))


def fedncf(cfg: ExperimentConfig) -> Algorithm:
    """FedNCF (Perifanis & Efraimidis, 2022): NCF-MLP, item embeddings and tower aggregated."""
    model = dataclasses.replace(cfg.model, name="ncf", mlp="shared")
    return fedmf(dataclasses.replace(cfg, model=model))


def no_d(cfg: ExperimentConfig) -> Algorithm:
    """FedRAP ablation: global view only (no D, so no difference regulariser)."""
    return fedrap_on_base(_with(cfg, variant="global_only"))


def no_c(cfg: ExperimentConfig) -> Algorithm:
    """FedRAP ablation: local view only (no C, so nothing item-side is federated)."""
    return fedrap_on_base(_with(cfg, variant="local_only"))


def l2(cfg: ExperimentConfig) -> Algorithm:
    """FedRAP ablation: squared L2 instead of L1 on C."""
    return fedrap_on_base(_with(cfg, regulariser="l2"))


def no_reg(cfg: ExperimentConfig) -> Algorithm:
    """FedRAP ablation: no difference regulariser (λ = 0)."""
    return fedrap_on_base(_with(cfg, lam=0.0))


def no_curriculum(cfg: ExperimentConfig) -> Algorithm:
    """FedRAP ablation: λ and μ fixed in every round (no curriculum)."""
    return fedrap_on_base(_with(cfg, curriculum="fixed"))
