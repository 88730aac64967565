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
    two_step : bool
        Its local update: each batch steps the score function with the items fixed, then the
        items under the updated function. ``False`` (an ablation): one joint step.
    own_copy : bool
        Its second personalisation: each user scores with its own trained copy of the item
        table. ``False`` (an ablation): with the server's aggregated table.
    """

    lr: float = 0.1
    lr_eta: float = 80.0
    batch_size: int = 256
    local_epochs: int = 1
    weight_decay: float = 0.0
    two_step: bool = True
    own_copy: bool = True


@dataclass(frozen=True)
class CentralisedConfig:
    """The centralised upper reference: one model trained with Adam on the pooled data.

    Attributes
    ----------
    lr : float
        Adam's learning rate (its moments persist across rounds).
    batch_size : int
        Samples per mini-batch, drawn from all users together.
    epochs : int
        Passes over the pooled samples per round (negatives are redrawn every round).
    """

    lr: float = 0.001
    batch_size: int = 1024
    epochs: int = 1
