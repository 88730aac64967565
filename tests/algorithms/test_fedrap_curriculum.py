import math

import pytest

from fedrec.algorithms.fedrap.curriculum import (
    client_c_decay,
    curriculum_factor,
    round_learning_rates,
    round_weights,
    server_c_decay,
)
from fedrec.config.schema import FedRAPConfig


@pytest.mark.parametrize(
    ("name", "server_round", "expected"),
    [
        ("reference", 1, 1.0),
        ("fixed", 7, 1.0),
        ("tanh", 1, 0.0),
        ("tanh", 12, math.tanh(1.0)),
        ("sin", 1, 0.0),
        ("sin", 2, 0.5),
        ("frac", 2, 1.0),
        ("frac", 5, 0.25),
        ("square", 2, 1.0),
        ("square", 6, 1.0),
        ("square", 7, 0.0),
        ("square", 12, 1.0),
    ],
)
def test_curriculum_factor_follows_the_reference_schedule_with_its_lag(
    name, server_round, expected
):
    assert curriculum_factor(name, server_round) == pytest.approx(expected)


def test_unknown_curriculum_is_an_error_listing_the_known_ones():
    with pytest.raises(ValueError, match="known"):
        curriculum_factor("cosine", 3)


def test_reference_curriculum_uses_fixed_weights_every_round():
    cfg = FedRAPConfig(curriculum="reference", lam=0.3, mu=0.2)
    assert round_weights(cfg, 1) == (0.3, 0.2)
    assert round_weights(cfg, 50) == (0.3, 0.2)


def test_learning_rates_decay_per_round():
    cfg = FedRAPConfig(lr_head=0.5, lr_embedding=200.0, round_lr_decay=0.97)
    head, emb = round_learning_rates(cfg, 3)
    assert head == pytest.approx(0.5 * 0.97**2)
    assert emb == pytest.approx(200.0 * 0.97**2)


def test_c_decay_runs_on_the_client_or_as_one_data_free_factor_on_the_server():
    client = FedRAPConfig(weight_decay=1e-3, local_epochs=2)
    server = FedRAPConfig(weight_decay=1e-3, local_epochs=2, c_decay="server")
    assert (client_c_decay(client), server_c_decay(client, 3)) == (1e-3, 1.0)
    lr = 200.0 * 0.97**2
    expected = (1 - lr * 1e-3) * (1 - lr * 0.95 * 1e-3)
    assert (client_c_decay(server), server_c_decay(server, 3)) == (0.0, pytest.approx(expected))
