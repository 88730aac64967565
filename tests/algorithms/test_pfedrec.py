"""PFedRec's two ingredients as config switches (its ablations)."""

import numpy as np
import torch

from fedrec.algorithms import create_algorithm
from fedrec.algorithms.base import NodeData
from fedrec.config import load_config
from tests.factories import tiny_split

BASE = ["algorithm=pfedrec", "fedrap.dim=4", "pfedrec.batch_size=8"]


def _trained(overrides, tmp_path):
    split = tiny_split(n_users=6)
    algorithm = create_algorithm(load_config(overrides=[*BASE, *overrides]))
    arrays = {k: torch.from_numpy(v) for k, v in algorithm.initial_global(split).items()}
    node = NodeData(split, np.arange(6), tmp_path)
    update = algorithm.train_node(node, arrays, 1)
    return algorithm, node, arrays, update


def _ranks_under_two_server_tables(overrides, tmp_path):
    algorithm, node, arrays, _ = _trained(overrides, tmp_path)
    other = {k: torch.randn_like(v) for k, v in arrays.items()}
    return algorithm.evaluate_node(node, arrays), algorithm.evaluate_node(node, other)


def test_with_its_own_copy_a_user_ignores_the_servers_table(tmp_path):
    # Execute
    first, second = _ranks_under_two_server_tables([], tmp_path)
    # Assert
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])


def test_without_its_own_copy_a_user_scores_with_the_servers_table(tmp_path):
    # Execute
    first, second = _ranks_under_two_server_tables(["pfedrec.own_copy=false"], tmp_path)
    # Assert
    assert any(not np.array_equal(first[key], second[key]) for key in first)


def test_the_joint_step_switch_changes_the_local_update(tmp_path):
    # Execute
    *_, two_step = _trained([], tmp_path / "two")
    *_, joint = _trained(["pfedrec.two_step=false"], tmp_path / "joint")
    # Assert: the same users, data and start, a different update of the item table
    assert two_step.num_examples == joint.num_examples
    assert not torch.allclose(two_step.sums["item-global"], joint.sums["item-global"])
