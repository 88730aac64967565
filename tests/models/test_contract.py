"""Every registered base model through the base-model contract (one test class, all models)."""

import dataclasses

import pytest
import torch

from fedrec.config import config_from_dict, config_to_yaml, load_config
from fedrec.config.model import ModelConfig
from fedrec.models import BaseRecommender, create_model, model_class, model_names
from fedrec.models.params import model_layout

DIM, USERS, ROWS = 4, 3, 7
CASES = [ModelConfig(name=n, mlp_layers=(6, 5)) for n in model_names()] + [
    ModelConfig(name=n, mlp_layers=(6,), mlp="private") for n in ("ncf", "neumf")
]


def _items(cfg, n_users=USERS, rows=ROWS, seed=0):
    width = model_class(cfg).item_width(DIM, cfg)
    return torch.randn(n_users, rows, width, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: f"{c.name}-{c.mlp}")
class TestBaseModelContract:
    def test_builds_from_the_experiment_config_and_round_trips(self, cfg):
        # Prepare
        overrides = [f"model.name={cfg.name}", f"model.mlp={cfg.mlp}", "model.mlp_layers=[6,5]"]
        # Execute
        exp = load_config(overrides=overrides)
        again = config_from_dict(__import__("yaml").safe_load(config_to_yaml(exp)))
        model = create_model(exp.model, USERS, DIM)
        # Assert
        assert again == exp
        assert isinstance(model, BaseRecommender)
        assert all(p.shape[0] == USERS for p in model.parameters())

    def test_scores_every_row_of_every_user(self, cfg):
        # Prepare
        model = create_model(cfg, USERS, DIM)
        # Execute
        logits = model(_items(cfg))
        # Assert
        assert logits.shape == (USERS, ROWS) and torch.isfinite(logits).all()

    def test_users_do_not_share_a_parameter_entry(self, cfg):
        # Prepare: the loss of user 1 alone
        model = create_model(cfg, USERS, DIM)
        # Execute
        model(_items(cfg))[1].sum().backward()
        # Assert: every parameter's slice of user 1, and only it, gets a gradient
        for name, p in model.named_parameters():
            others = torch.cat([p.grad[:1], p.grad[2:]])
            assert torch.all(others == 0), name
            assert p.grad[1].abs().sum() > 0, name

    def test_shared_and_private_split_every_parameter(self, cfg):
        # Prepare
        model = create_model(cfg, 1, DIM)
        # Execute
        layout = model_layout(cfg, DIM, seed=0)
        # Assert
        names = {n for n, _ in model.named_parameters()}
        assert set(layout.shared.names) == set(model.shared) <= names
        assert set(layout.private.names) == names - set(model.shared)
        assert layout.private.size + layout.shared.size == sum(
            p.numel() for p in model.parameters()
        )
        if cfg.mlp == "private" or cfg.name in ("affine", "mf"):
            assert layout.shared.size == 0

    def test_one_sgd_step_lowers_the_loss_on_a_fixed_batch(self, cfg):
        # Prepare
        model = create_model(cfg, USERS, DIM)
        items = _items(cfg).requires_grad_()
        labels = (torch.arange(ROWS) % 2).float().expand(USERS, -1)

        def loss():
            return torch.nn.functional.binary_cross_entropy_with_logits(model(items), labels)

        before = loss()
        before.backward()
        # Execute
        with torch.no_grad():
            for p in [*model.parameters(), items]:
                p -= 0.05 * p.grad
        # Assert
        assert float(loss().detach()) < float(before.detach())

    def test_layout_round_trips_parameters(self, cfg):
        # Prepare
        layout = model_layout(cfg, DIM, seed=1)
        flat = torch.randn(USERS, layout.private.size)
        # Execute
        again = layout.private.pack(layout.private.unpack(flat), USERS)
        # Assert
        torch.testing.assert_close(again, flat)


def test_an_unknown_model_name_is_a_clear_error():
    # Prepare
    cfg = ModelConfig(name="svd++")
    # Execute / Assert
    with pytest.raises(ValueError, match=r"unknown base model 'svd\+\+'.*known: \['affine'"):
        create_model(cfg, 1, DIM)


def test_negative_tower_widths_are_an_error():
    with pytest.raises(ValueError, match="mlp_layers"):
        create_model(dataclasses.replace(ModelConfig(name="ncf"), mlp_layers=(0,)), 1, DIM)


def test_the_initial_draw_is_a_function_of_the_seed():
    # Prepare
    cfg = ModelConfig(name="neumf")
    # Execute
    a, b, c = (model_layout(cfg, DIM, seed=s) for s in (5, 5, 6))
    # Assert
    torch.testing.assert_close(a.initial_shared, b.initial_shared)
    assert not torch.equal(a.initial_private, c.initial_private)
