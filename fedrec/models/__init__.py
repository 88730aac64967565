"""Base recommenders as plain ``nn.Module``s, found by name; training loops live elsewhere.

Adding a base model is one module with a :class:`BaseRecommender` subclass plus one line
below (see ``docs/models.md``).
"""

from fedrec.models.affine import Affine
from fedrec.models.base import BaseRecommender
from fedrec.models.fedrap import AdditiveItemScorer, InitialState, initial_state
from fedrec.models.mf import MF
from fedrec.models.ncf import NCF
from fedrec.models.neumf import NeuMF
from fedrec.models.registry import create_model, model_class, model_names, register_model

register_model("affine", Affine)
register_model("mf", MF)
register_model("ncf", NCF)
register_model("neumf", NeuMF)

__all__ = [
    "MF",
    "NCF",
    "AdditiveItemScorer",
    "Affine",
    "BaseRecommender",
    "InitialState",
    "NeuMF",
    "create_model",
    "initial_state",
    "model_class",
    "model_names",
    "register_model",
]
