"""Base recommenders as plain ``nn.Module``s; training loops live in ``fedrec.algorithms``."""

from fedrec.models.fedrap import AdditiveItemScorer, InitialState, initial_state

__all__ = ["AdditiveItemScorer", "InitialState", "initial_state"]
