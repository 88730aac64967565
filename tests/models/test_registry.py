"""The base-model registry: names, duplicates, and a new model in one file plus one line."""

import pytest
import torch

from fedrec.config.model import ModelConfig
from fedrec.models import Affine, create_model, model_names, register_model
from fedrec.models.registry import _REGISTRY


def test_the_four_base_models_are_registered():
    assert {"affine", "mf", "ncf", "neumf"} <= set(model_names())


def test_a_duplicate_name_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_model("mf", Affine)


def test_a_new_model_is_one_class_and_one_line(monkeypatch):
    # Prepare: the docs' example, a dot product without biases
    class Dot(Affine):
        def forward(self, items: torch.Tensor) -> torch.Tensor:
            return torch.einsum("uld,ud->ul", items, self.weight)

    monkeypatch.setitem(_REGISTRY, "dot", Dot)
    # Execute
    model = create_model(ModelConfig(name="dot"), 2, 3)
    # Assert
    assert model(torch.ones(2, 5, 3)).shape == (2, 5)
