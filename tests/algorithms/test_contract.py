"""Every registered algorithm, through its public interface, on tiny data (no Flower)."""

import numpy as np
import pytest
import torch

from fedrec.algorithms import algorithm_names, create_algorithm
from fedrec.algorithms.base import NodeData
from fedrec.algorithms.ranks import RANK_KEYS
from fedrec.config import load_config
from fedrec.models import model_names
from tests.factories import tiny_split

CASES = [[f"algorithm={name}"] for name in algorithm_names()] + [
    ["algorithm=fedrap", "fedrap.variant=global_only"],
    ["algorithm=fedrap", "fedrap.variant=local_only"],
    *[["algorithm=fedrap", f"model.name={name}"] for name in model_names()],
    ["algorithm=fedrap", "model.name=neumf", "model.mlp=private"],
    ["algorithm=fedmf", "model.name=mf"],
]


@pytest.mark.parametrize("overrides", CASES, ids=lambda o: "-".join(x.split("=")[1] for x in o))
def test_two_rounds_through_the_algorithm_interface(overrides, tmp_path):
    # Prepare
    cfg = load_config(overrides=[*overrides, "fedrap.dim=4", "fedrap.local_epochs=2"])
    split = tiny_split(n_users=9)
    algorithm = create_algorithm(cfg)
    arrays = {k: torch.from_numpy(v) for k, v in algorithm.initial_global(split).items()}
    node = NodeData(split, np.arange(9), tmp_path / "node")
    # Execute: two rounds as the strategy runs them, then an evaluation.
    for server_round in (1, 2):
        update = algorithm.train_node(node, arrays, server_round)
        assert set(update.sums) == set(arrays)
        arrays = {k: v / update.weight_sum for k, v in update.sums.items()}
    ranks = algorithm.evaluate_node(node, arrays)
    # Assert
    assert update.num_users == 9 and all(torch.isfinite(v).all() for v in arrays.values())
    assert ranks["users"].tolist() == list(range(9))
    for key in RANK_KEYS:
        assert ranks[key].min() >= 1 and ranks[key].max() <= split.n_items
