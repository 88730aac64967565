"""Cohorts of the autograd trainer, and FedRAP's node result independent of them."""

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fedrec.algorithms import create_algorithm
from fedrec.algorithms.additive.node import PAD_RATIO, model_cohorts
from fedrec.algorithms.base import NodeData
from fedrec.config import load_config
from tests.factories import tiny_split


@settings(max_examples=25, deadline=None)
@given(
    n_users=st.integers(1, 30),
    batch_size=st.sampled_from([8, 30, 4096]),
    memory=st.integers(1, 3),
)
def test_cohorts_cover_every_user_once_with_one_batch_count(n_users, batch_size, memory):
    # Prepare
    split = tiny_split(n_users=n_users, max_train=20)
    cfg = load_config(overrides=[f"fedrap.batch_size={batch_size}"])
    cfg = dataclasses.replace(
        cfg, federation=dataclasses.replace(cfg.federation, cohort_memory_mb=memory)
    )
    users = np.arange(n_users)
    # Execute
    cohorts = list(model_cohorts(split, users, cfg, width=33))
    # Assert
    assert sorted(np.concatenate(cohorts).tolist()) == users.tolist()
    rows = split.train_counts() * 5
    for cohort in cohorts:
        assert len(np.unique(-(-rows[cohort] // batch_size))) == 1


@pytest.mark.parametrize(("model", "bounded"), [("ncf", True), ("affine", False)])
def test_padded_models_train_users_of_similar_size_together(model, bounded):
    # Prepare: users from 10 to 60 interactions, all in one batch and well within memory
    split = tiny_split(n_users=40, n_items=80, min_train=10, max_train=60)
    cfg = load_config(overrides=[f"model.name={model}", "fedrap.batch_size=4096"])
    rows = split.train_counts() * 5
    # Execute
    cohorts = list(model_cohorts(split, np.arange(40), cfg, width=32))
    # Assert: a padded model's cohort pads its smallest user by at most PAD_RATIO; the affine
    # head (the hand-written kernel, no padding) keeps the whole group in one cohort
    spreads = [rows[c].max() / rows[c].min() for c in cohorts]
    if bounded:
        assert max(spreads) <= PAD_RATIO and len(cohorts) > 1
    else:
        assert len(cohorts) == 1 and max(spreads) > PAD_RATIO


def test_node_result_does_not_depend_on_the_cohort_size(tmp_path):
    # Prepare: the same users trained in cohorts of 2 and in one cohort
    base = ["algorithm=fedrap", "model.name=ncf", "fedrap.dim=4", "fedrap.local_epochs=2"]
    split = tiny_split(n_users=7)
    results = []
    for size in (2, 0):
        cfg = load_config(overrides=[*base, f"federation.cohort_size={size}"])
        algorithm = create_algorithm(cfg)
        arrays = {k: torch.from_numpy(v) for k, v in algorithm.initial_global(split).items()}
        # Execute
        node = NodeData(split, np.arange(7), tmp_path / str(size))
        results.append(algorithm.train_node(node, arrays, 1))
    # Assert
    for name in results[0].sums:
        torch.testing.assert_close(
            results[0].sums[name], results[1].sums[name], atol=1e-5, rtol=1e-5
        )
    assert results[0].loss_sum == pytest.approx(results[1].loss_sum, rel=1e-5)
