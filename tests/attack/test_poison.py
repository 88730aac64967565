"""Fake users with crafted interactions, the target item, and its exposure."""

import numpy as np
import torch

from fedrec.attack import exposure, poison_split, target_item, target_ranks
from fedrec.attack.exposure import KNOWN
from fedrec.config import load_config
from tests.factories import tiny_split


def test_fake_users_are_appended_with_the_target_among_their_interactions():
    # Prepare
    split = tiny_split(n_users=19, n_items=40)
    cfg = load_config(
        overrides=["attack.kind=fake_users", "attack.fraction=0.05", "attack.filler=6"]
    )
    # Execute
    poisoned = poison_split(split, cfg.attack, seed=0)
    target = target_item(poisoned, cfg.attack, seed=0)
    # Assert
    assert poisoned.n_fake == 1 and poisoned.n_users == 20
    fake_items = poisoned.train_items[poisoned.train_indptr[19] : poisoned.train_indptr[20]]
    assert target in fake_items and len(fake_items) == 7
    assert target == target_item(split, cfg.attack, seed=0)  # fakes do not move the target
    np.testing.assert_array_equal(poisoned.train_items[: split.train_indptr[-1]], split.train_items)


def test_no_attack_leaves_the_split_alone():
    split = tiny_split()
    cfg = load_config(overrides=["attack.kind=model_poisoning", "attack.fraction=0.0"])
    assert poison_split(split, cfg.attack, 0) is split


def test_exposure_counts_users_with_the_target_in_their_top_k_and_skips_those_who_know_it():
    # Prepare: 3 users, 6 items; the target is item 5.
    split = tiny_split(n_users=3, n_items=40)
    scores = torch.zeros(3, 40)
    scores[0, 5] = 10.0  # top 1
    scores[1, 5] = -10.0  # last
    # Execute
    ranks = target_ranks(scores, split, np.arange(3), 5).numpy()
    # Assert
    known = [
        5 in split.train_items[split.train_indptr[u] : split.train_indptr[u + 1]] for u in range(3)
    ]
    assert (ranks == KNOWN).tolist() == [
        k or 5 in (split.val_items[u], split.test_items[u]) for u, k in enumerate(known)
    ]
    if ranks[0] != KNOWN:
        assert ranks[0] == 1
    assert exposure(np.array([1, 3, 50, KNOWN]), 10) == 2 / 3
