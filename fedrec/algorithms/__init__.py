"""Federated recommendation algorithms, found by name in a small registry."""

from fedrec.algorithms.additive import variants
from fedrec.algorithms.additive.algorithm import fedrap_on_base
from fedrec.algorithms.additive.pfedrec import PFedRec
from fedrec.algorithms.base import Algorithm, GlobalArrays, NodeData, NodeUpdate, TrainOptions
from fedrec.algorithms.baselines.centralised import Centralised
from fedrec.algorithms.baselines.local_only import LocalOnly
from fedrec.algorithms.baselines.most_pop import MostPop
from fedrec.algorithms.baselines.random_scores import RandomScores
from fedrec.algorithms.fedrap.algorithm import FedRAP
from fedrec.algorithms.registry import algorithm_names, create_algorithm, register_algorithm

register_algorithm("fedrap", fedrap_on_base)
register_algorithm("fedmf", variants.fedmf)
register_algorithm("fedncf", variants.fedncf)
register_algorithm("fedrap-no-d", variants.no_d)
register_algorithm("fedrap-no-c", variants.no_c)
register_algorithm("fedrap-l2", variants.l2)
register_algorithm("fedrap-no-reg", variants.no_reg)
register_algorithm("fedrap-no-curriculum", variants.no_curriculum)
register_algorithm("pfedrec", PFedRec)
register_algorithm("local", LocalOnly)
register_algorithm("centralised", Centralised)
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
