"""The attack's scores and metrics against brute-force definitions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedrec.aggregation.updates import UserUpdates
from fedrec.audit.attack import attack_scores, membership_auc, precision_at_k


def _brute_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels], scores[~labels]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 5), st.integers(2, 30))
def test_membership_auc_matches_the_pairwise_definition_with_ties(seed, n_rows, n_cols):
    # Prepare: few distinct values, so ties are common
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, size=(n_rows, n_cols)) / 2.0
    labels = rng.random((n_rows, n_cols)) < 0.3
    # Execute
    auc = membership_auc(scores, labels)
    # Assert
    for row in range(n_rows):
        if 0 < labels[row].sum() < n_cols:
            assert auc[row] == pytest.approx(_brute_auc(scores[row], labels[row]))
        else:
            assert np.isnan(auc[row])


def test_precision_at_k_counts_positives_among_the_top_k():
    # Prepare
    scores = np.array([[0.9, 0.8, 0.1, 0.0], [0.0, 0.1, 0.8, 0.9]])
    labels = np.array([[True, True, False, False], [True, True, False, False]])
    # Execute / Assert
    np.testing.assert_allclose(precision_at_k(scores, labels, 2), [1.0, 0.0])


def test_scores_put_uploaded_rows_first_and_the_rows_moved_against_the_mean_change_on_top():
    # Prepare: one user, G = 0, rows 0..3 uploaded; row 0 moved up, rows 1..3 moved down
    g = np.zeros((6, 2), np.float32)
    values = np.array([[1.0, 1.0], [-1.0, -1.0], [-0.5, -0.5], [-0.8, -0.8]], np.float32)
    updates = UserUpdates(np.array([0, 4]), np.arange(4), values, np.ones(1), np.ones(1))
    # Execute
    scores = attack_scores(updates, g)[0]
    # Assert
    assert scores.argmax() == 0
    assert np.all(scores[:4] >= 1.0) and np.all(scores[4:] == 0.0)
    assert np.all(scores < 2.0)
