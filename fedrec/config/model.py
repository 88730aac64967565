"""Which base recommender scores items (``model.*``); see ``docs/models.md``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Whether an MLP tower's weights are aggregated by the server or stay on the client.
TowerSharing = Literal["shared", "private"]


@dataclass(frozen=True)
class ModelConfig:
    """The base recommender under a federated algorithm.

    Attributes
    ----------
    name : str
        A registered base model (``fedrec.models.model_names()``): ``affine`` (FedRAP's
        reference head, the default), ``mf``, ``ncf`` or ``neumf``. The embedding size is
        ``fedrap.dim``.
    mlp_layers : tuple of int
        Widths of the hidden layers of an MLP tower (NCF, NeuMF), input side first.
    mlp : {"shared", "private"}
        ``shared``: the tower's weights are aggregated like item embeddings; ``private``:
        every user keeps its own tower.
    """

    name: str = "affine"
    mlp_layers: tuple[int, ...] = (32, 16)
    mlp: TowerSharing = "shared"
