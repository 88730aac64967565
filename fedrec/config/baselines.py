"""Hyperparameters of the baselines that do not share FedRAP's local optimiser (``pfedrec.*``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PFedRecConfig:
    """PFedRec (Zhang et al., IJCAI 2023); defaults are those of its reference code.

    Attributes
    ----------
    lr : float
        SGD learning rate of the private score function.
    lr_eta : float
        The item embeddings' learning rate is ``lr · n_items · lr_eta``.
    batch_size, local_epochs : int
        Local mini-batches (per user) and passes over the user's samples per round.
    weight_decay : float
        Plain SGD weight decay on every parameter.
    """

    lr: float = 0.1
    lr_eta: float = 80.0
    batch_size: int = 256
    local_epochs: int = 1
    weight_decay: float = 0.0
