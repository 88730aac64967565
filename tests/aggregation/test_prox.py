"""The L1 proximal step: exact zeros and the target density."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fedrec.aggregation.prox import soft_threshold, sparsify


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
