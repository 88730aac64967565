"""The L1 proximal step: exact zeros and the target density."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedrec.aggregation.prox import scheduled_density, soft_threshold, sparsify


def test_soft_threshold_zeroes_small_entries_and_shrinks_the_rest():
    x = np.array([-2.0, -0.5, 0.0, 0.3, 1.5], dtype=np.float32)
    np.testing.assert_allclose(soft_threshold(x, 0.5), [-1.5, 0.0, 0.0, 0.0, 1.0])


@settings(max_examples=40, deadline=None)
@given(target=st.floats(0.0, 1.0), seed=st.integers(0, 1000))
def test_target_density_is_reached_with_the_smallest_threshold(target, seed):
    # Prepare
    matrix = np.random.default_rng(seed).normal(size=(40, 8)).astype(np.float32)
    # Execute
    result = sparsify(matrix, 0.0, target)
    # Assert: at most the target survives, and a slightly smaller threshold would keep more.
    assert np.count_nonzero(result.matrix) <= np.floor(target * matrix.size)
    if result.threshold > 0:
        looser = soft_threshold(matrix, np.nextafter(np.float32(result.threshold), 0))
        assert np.count_nonzero(looser) > np.count_nonzero(result.matrix)


@settings(max_examples=40, deadline=None)
@given(target=st.floats(0.0, 1.0), dim=st.integers(1, 12), seed=st.integers(0, 1000))
def test_a_row_budget_keeps_the_largest_entries_of_every_row(target, dim, seed):
    # Prepare
    matrix = np.random.default_rng(seed).normal(size=(30, dim)).astype(np.float32)
    keep = int(np.floor(target * dim))
    # Execute
    result = sparsify(matrix, 0.0, target, shrink="hard", scope="row")
    # Assert: every row keeps exactly its `keep` largest magnitudes (normal entries: no ties).
    largest = np.argsort(-np.abs(matrix), axis=1)[:, :keep]
    expected = np.zeros_like(matrix)
    np.put_along_axis(expected, largest, np.take_along_axis(matrix, largest, axis=1), axis=1)
    np.testing.assert_array_equal(result.matrix, expected)


def test_a_row_budget_never_goes_below_the_fixed_threshold_and_reports_the_smallest():
    matrix = np.array([[4.0, 3.0, 0.5, 0.1], [0.4, 0.3, 0.2, 0.1]], dtype=np.float32)
    result = sparsify(matrix, 0.35, 0.5, shrink="soft", scope="row")
    # Row 0 keeps 2 entries (τ 0.5); row 1 would need τ 0.2, below the fixed 0.35.
    expected = [[3.5, 2.5, 0.0, 0.0], [0.05, 0.0, 0.0, 0.0]]
    np.testing.assert_allclose(result.matrix, expected, atol=1e-7)
    assert result.threshold == pytest.approx(0.35)


def test_each_user_reaches_its_upload_density_with_its_own_threshold():
    # Prepare: two users, 10 and 30 rows of 4 entries.
    from fedrec.aggregation.prox import per_user_thresholds

    values = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    offsets = np.array([0, 10, 40])
    # Execute
    tau = per_user_thresholds(values, offsets, 0.1, 0.25)
    out = soft_threshold(values, tau[:, None])
    # Assert
    assert np.count_nonzero(out[:10]) <= 10 and np.count_nonzero(out[10:]) <= 30
    assert tau.min() >= 0.1 and len(np.unique(tau)) == 2


def test_hard_thresholding_keeps_the_survivors_unshrunk():
    matrix = np.array([[3.0, -0.2], [0.1, -2.0]], dtype=np.float32)
    result = sparsify(matrix, 0.0, 0.5, shrink="hard")
    np.testing.assert_array_equal(result.matrix, [[3.0, 0.0], [0.0, -2.0]])


@given(
    target=st.floats(0.0, 1.0),
    ramp=st.integers(1, 50),
    rounds=st.lists(st.integers(0, 80), min_size=2, max_size=2),
)
def test_the_density_schedule_falls_from_one_to_the_target_and_stays(target, ramp, rounds):
    # Execute
    early, late = (scheduled_density(target, ramp, r) for r in sorted(rounds))
    # Assert
    assert scheduled_density(target, ramp, 0) == 1.0
    assert scheduled_density(target, ramp, ramp) == target
    assert target <= late <= early <= 1.0


def test_no_ramp_gives_the_target_from_the_first_round():
    assert scheduled_density(0.1, 0, 1) == 0.1
