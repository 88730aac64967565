"""Local-only and centralised: what the server sees, and the centralised optimiser step."""

import numpy as np
import pytest
import torch

from fedrec.algorithms import create_algorithm
from fedrec.algorithms.base import NodeData, TrainOptions
from fedrec.algorithms.baselines.centralised import ADAM, CENTRAL, _adam_step
from fedrec.config import load_config
from tests.factories import tiny_split

SMALL = ["fedrap.dim=4", "fedrap.local_epochs=1", "model.mlp_layers=[4]"]


def _arrays(algorithm, split):
    return {k: torch.from_numpy(v) for k, v in algorithm.initial_global(split).items()}


@pytest.mark.parametrize("model", ["affine", "ncf"])
def test_local_only_leaves_the_global_arrays_unchanged(model, tmp_path):
    # Prepare
    cfg = load_config(overrides=["algorithm=local", f"model.name={model}", *SMALL])
    split = tiny_split(n_users=5)
    algorithm = create_algorithm(cfg)
    node = NodeData(split, np.arange(5), tmp_path)
    arrays = _arrays(algorithm, split)
    # Execute
    update = algorithm.train_node(node, arrays, 1)
    # Assert: the server's mean is exactly what it sent, and the users did train
    for name, value in arrays.items():
        torch.testing.assert_close(update.sums[name] / update.weight_sum, value)
    assert update.upload_bytes == 0 and update.num_users == 5 and update.loss_sum > 0


def test_local_only_refuses_per_user_strategies(tmp_path):
    cfg = load_config(overrides=["algorithm=local", *SMALL])
    split = tiny_split(n_users=3)
    algorithm = create_algorithm(cfg)
    with pytest.raises(ValueError, match="uploads nothing"):
        algorithm.train_node(
            NodeData(split, np.arange(3), tmp_path),
            _arrays(algorithm, split),
            1,
            TrainOptions(per_user=True),
        )


def test_centralised_trains_on_one_node_only(tmp_path):
    # Prepare: two nodes; the one hosting user 0 trains on everyone's data
    cfg = load_config(overrides=["algorithm=centralised", *SMALL])
    split = tiny_split(n_users=6)
    algorithm = create_algorithm(cfg)
    arrays = _arrays(algorithm, split)
    # Execute
    first = algorithm.train_node(NodeData(split, np.arange(3), tmp_path / "a"), arrays, 1)
    second = algorithm.train_node(NodeData(split, np.arange(3, 6), tmp_path / "b"), arrays, 1)
    # Assert
    assert first.weight_sum == 1.0 and first.num_examples == 5 * int(split.train_counts().sum())
    assert second.weight_sum == 0.0 and all(torch.all(v == 0) for v in second.sums.values())
    assert not torch.equal(first.sums[CENTRAL], arrays[CENTRAL])
    assert float(first.sums[ADAM][-1]) == 1.0  # one Adam step over 6 users' samples


def test_adam_step_equals_torch_optim_adam():
    # Prepare
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(5, generator=gen)
    grads = [torch.randn(5, generator=gen) for _ in range(3)]
    ours, state = start.clone(), torch.zeros(11)
    theirs = start.clone().requires_grad_()
    optimizer = torch.optim.Adam([theirs], lr=0.1)
    # Execute
    for grad in grads:
        _adam_step(ours, grad, state, 0.1)
        theirs.grad = grad.clone()
        optimizer.step()
    # Assert
    torch.testing.assert_close(ours, theirs.detach())
