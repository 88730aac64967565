"""The affine head on the hand-written FedRAP kernel, behind the generic cohort trainer's API.

On the affine head the autograd trainer and :mod:`fedrec.algorithms.fedrap.cohort` compute the
same step (tested), but the kernel needs no padded block, no autograd graph and can run compiled:
PFedRec's round on ML-100K runs several times faster this way. Any other base model keeps the
autograd trainer.
"""

from __future__ import annotations

import torch

from fedrec.algorithms.additive.trainer import ModelUpdate, train_cohort
from fedrec.algorithms.fedrap.cohort import RoundSettings
from fedrec.algorithms.fedrap.cohort import train_cohort as train_kernel
from fedrec.algorithms.fedrap.samples import RoundSamples
from fedrec.config.model import ModelConfig
from fedrec.config.schema import FedRAPConfig, Kernel
from fedrec.models import model_class
from fedrec.models.affine import Affine
from fedrec.models.base import BaseRecommender
from fedrec.models.params import ModelLayout
from fedrec.state.private import TouchedState


def trains_padded(model: ModelConfig) -> bool:
    """Return whether ``model`` trains on the autograd trainer's padded per-user block."""
    return not issubclass(model_class(model), Affine)


def train_model_cohort(
    state: TouchedState,
    globals_: tuple[torch.Tensor, torch.Tensor],
    samples: RoundSamples,
    cfg: FedRAPConfig,
    settings: RoundSettings,
    model: tuple[BaseRecommender, ModelLayout],
    two_step: bool = False,
    kernel: Kernel = "auto",
) -> ModelUpdate:
    """Train a cohort as :func:`~fedrec.algorithms.additive.trainer.train_cohort` does.

    The affine head runs on the hand-written kernel (``kernel``: compiled or eager, as
    ``federation.kernel``); every other model on the autograd trainer. Arguments and result are
    those of the autograd trainer.
    """
    module, layout = model
    if not isinstance(module, Affine):
        return train_cohort(state, globals_, samples, cfg, settings, model, two_step)
    n_users = len(samples.users)
    head = layout.private.unpack(state.head_weight)
    heads = TouchedState(state.local_rows, head["weight"], head["bias"])  # the kernel copies them
    update = train_kernel(heads, globals_[0], samples, cfg, settings, kernel, two_step)
    state.local_rows = heads.local_rows
    trained = {"weight": heads.head_weight, "bias": heads.head_bias}
    state.head_weight = layout.private.pack(trained, n_users)
    return ModelUpdate(update, torch.zeros(n_users, 0))
