"""Training negatives under the two protocols."""

import numpy as np
import pytest

from fedrec.data.sampling import excluded_items, sample_negatives
from tests.factories import tiny_split


def _draw(split, users, protocol, per_user=4000, keys=(0, 1)):
    ptr, excl = excluded_items(split, users, protocol)
    draws = np.full(len(users), per_user)
    items = sample_negatives(split.n_items, ptr, excl, draws, keys, users)
    return items.reshape(len(users), per_user)


def test_strict_never_excludes_held_out_items_and_legacy_always_does():
    # Prepare
    split = tiny_split(n_users=6, n_items=30)
    users = np.arange(6)
    # Execute
    strict, legacy = _draw(split, users, "strict"), _draw(split, users, "legacy")
    # Assert
    for u in users:
        train = set(split.user_train_items(u))
        held = {int(split.val_items[u]), int(split.test_items[u])}
        assert not train & set(strict[u]) and not train & set(legacy[u])
        assert held <= set(strict[u]), "strict must be able to draw the held-out items"
        assert not held & set(legacy[u]), "legacy must never draw the held-out items"


def test_draws_are_uniform_over_the_allowed_items():
    split = tiny_split(n_users=1, n_items=20)
    draws = _draw(split, np.array([0]), "strict", per_user=40_000)[0]
    allowed = np.setdiff1d(np.arange(20), split.user_train_items(0))
    counts = np.bincount(draws, minlength=20)[allowed]
    expected = 40_000 / len(allowed)
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 3 * len(allowed)  # far below what a skewed sampler gives


def test_a_users_draws_depend_on_its_id_not_on_its_cohort():
    split = tiny_split(n_users=8, n_items=30)
    together = _draw(split, np.arange(8), "legacy", per_user=50)
    alone = _draw(split, np.array([5]), "legacy", per_user=50)
    np.testing.assert_array_equal(together[5], alone[0])
    assert not np.array_equal(_draw(split, np.array([5]), "legacy", 50, keys=(0, 2))[0], alone[0])


def test_unknown_protocol_is_an_error():
    split = tiny_split(n_users=2)
    with pytest.raises(ValueError, match="protocol"):
        excluded_items(split, np.arange(2), "loose")
