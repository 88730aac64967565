"""Federated recommendation algorithms, found by name in a small registry."""

from fedrec.algorithms.base import Algorithm, GlobalArrays, NodeData, NodeUpdate, TrainOptions
from fedrec.algorithms.baselines.most_pop import MostPop
from fedrec.algorithms.baselines.random_scores import RandomScores
from fedrec.algorithms.fedrap.algorithm import FedRAP, fedmf
from fedrec.algorithms.registry import algorithm_names, create_algorithm, register_algorithm

register_algorithm("fedrap", FedRAP)
register_algorithm("fedmf", fedmf)
register_algorithm("mostpop", MostPop)
register_algorithm("random", RandomScores)

__all__ = [
    "Algorithm",
    "FedRAP",
    "GlobalArrays",
    "MostPop",
    "NodeData",
    "NodeUpdate",
    "RandomScores",
    "TrainOptions",
    "algorithm_names",
    "create_algorithm",
    "register_algorithm",
]
