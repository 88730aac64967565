"""Every registered algorithm, through its public interface, on tiny data (no Flower)."""

import numpy as np
import pytest
import torch
import yaml

from fedrec.algorithms import algorithm_names, create_algorithm
from fedrec.algorithms.base import NodeData
from fedrec.algorithms.ranks import RANK_KEYS
from fedrec.config import config_from_dict, config_to_yaml, load_config
from fedrec.models import model_names
from fedrec.models.params import model_layout
from tests.factories import tiny_split

CASES = [[f"algorithm={name}"] for name in algorithm_names()] + [
    ["algorithm=fedrap", "fedrap.variant=global_only"],
    ["algorithm=fedrap", "fedrap.variant=local_only"],
    *[["algorithm=fedrap", f"model.name={name}"] for name in model_names()],
    ["algorithm=fedrap", "model.name=neumf", "model.mlp=private"],
    ["algorithm=fedmf", "model.name=mf"],
    ["algorithm=pfedrec", "model.name=ncf"],
    ["algorithm=local", "model.name=mf"],
    ["algorithm=centralised", "model.name=neumf"],
]
#: Algorithms without a local loss (they count or draw, nothing is trained).
UNTRAINED = {"mostpop", "random"}
#: Small steps, one batch per user and one epoch: a round is one SGD step per user.
ONE_STEP = [
    "fedrap.dim=4",
    "fedrap.local_epochs=1",
    "fedrap.batch_size=4096",
    "fedrap.lr_head=0.05",
    "fedrap.lr_embedding=0.5",
    "pfedrec.batch_size=4096",
    "pfedrec.lr=0.05",
    "pfedrec.lr_eta=0.01",
    "centralised.batch_size=4096",
    "centralised.lr=0.01",
    "model.mlp_layers=[6]",
]
_ids = lambda o: "-".join(x.split("=")[1] for x in o)  # noqa: E731


def _global(algorithm, split):
    return {k: torch.from_numpy(v) for k, v in algorithm.initial_global(split).items()}


#: The centralised reference holds every user's parameters on the server by design.
NOTHING_PRIVATE = {"centralised"}


@pytest.mark.parametrize("overrides", CASES, ids=_ids)
class TestAlgorithmContract:
    """What every registered algorithm (and base model under it) must do."""

    def test_two_rounds_through_the_algorithm_interface(self, overrides, tmp_path):
        # Prepare
        cfg = load_config(overrides=[*overrides, "fedrap.dim=4", "fedrap.local_epochs=2"])
        split = tiny_split(n_users=9)
        algorithm = create_algorithm(cfg)
        arrays = _global(algorithm, split)
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

    def test_builds_from_a_round_tripped_config(self, overrides):
        # Prepare
        cfg = load_config(overrides=overrides)
        # Execute
        again = config_from_dict(yaml.safe_load(config_to_yaml(cfg)))
        # Assert
        assert again == cfg
        assert type(create_algorithm(again)) is type(create_algorithm(cfg))

    def test_one_local_step_lowers_the_loss_on_the_same_batch(self, overrides, tmp_path):
        # Prepare: round 1 twice (same samples), the second from the first's aggregate
        cfg = load_config(overrides=[*overrides, *ONE_STEP])
        split = tiny_split(n_users=6)
        algorithm = create_algorithm(cfg)
        node = NodeData(split, np.arange(6), tmp_path / "node")
        first = algorithm.train_node(node, _global(algorithm, split), 1)
        arrays = {k: v / first.weight_sum for k, v in first.sums.items()}
        # Execute
        second = algorithm.train_node(node, arrays, 1)
        # Assert: a trained algorithm improves; the sanity baselines have no loss at all
        if cfg.algorithm in UNTRAINED:
            assert first.loss_sum == second.loss_sum == 0.0
        else:
            assert second.loss_sum < first.loss_sum

    def test_node_sums_carry_no_per_user_array(self, overrides, tmp_path):
        # Prepare: the same algorithm on nodes of 4 and of 9 users
        cfg = load_config(overrides=[*overrides, "fedrap.dim=4", "fedrap.local_epochs=1"])
        algorithm = create_algorithm(cfg)
        shapes = {}
        for n_users in (4, 9):
            split = tiny_split(n_users=n_users)
            node = NodeData(split, np.arange(n_users), tmp_path / f"node{n_users}")
            arrays = _global(algorithm, split)
            # Execute
            update = algorithm.train_node(node, arrays, 1)
            shapes[n_users] = {k: tuple(v.shape) for k, v in update.sums.items()}
            # Assert: exactly the declared global arrays, no more
            assert shapes[n_users] == {k: tuple(v.shape) for k, v in arrays.items()}
        # Nothing sized by users goes up, so no private parameter does (centralised excepted).
        assert (shapes[4] == shapes[9]) is (cfg.algorithm not in NOTHING_PRIVATE)


@pytest.mark.parametrize("name", ["ncf", "neumf"])
def test_only_the_shared_tower_is_a_global_array(name):
    # Prepare
    shared = load_config(overrides=["algorithm=fedrap", f"model.name={name}", "fedrap.dim=4"])
    private = load_config(overrides=[*_as_list(shared, name), "model.mlp=private"])
    split = tiny_split(n_users=3)
    # Execute
    up_shared = create_algorithm(shared).initial_global(split)
    up_private = create_algorithm(private).initial_global(split)
    # Assert
    layout = model_layout(shared.model, 4, seed=0)
    assert up_shared["model-shared"].shape == (layout.shared.size,)
    assert set(up_private) == {"item-global"}
    assert "user" not in layout.shared.names and "user_gmf" not in layout.shared.names


def _as_list(cfg, name):
    return ["algorithm=fedrap", f"model.name={name}", f"fedrap.dim={cfg.fedrap.dim}"]
