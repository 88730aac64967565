import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fedrec.rng import Stream, hash64, uniform

keys = st.lists(st.integers(0, 2**40), min_size=1, max_size=20)


@given(keys, st.integers(0, 2**31), st.integers(0, 500))
def test_a_draw_depends_only_on_its_own_coordinates(users, seed, server_round):
    # Prepare
    users_arr = np.array(users)

    # Execute
    together = uniform(seed, server_round, Stream.SHUFFLE, users_arr)
    alone = [uniform(seed, server_round, Stream.SHUFFLE, u) for u in users]

    # Assert
    np.testing.assert_array_equal(together, np.array(alone).reshape(-1))


def test_scalar_keys_after_array_keys_broadcast_to_the_full_shape():
    # Prepare
    users = np.arange(5)

    # Execute
    words = hash64(users, 7)

    # Assert
    assert words.shape == (5,)
    assert words.dtype == np.uint64
    assert len(np.unique(words)) == 5
    assert words[2] == hash64(2, 7)


def test_uniform_lies_in_the_unit_interval_and_streams_differ():
    # Prepare
    positions = np.arange(10_000)

    # Execute
    shuffle = uniform(0, 1, Stream.SHUFFLE, positions)
    negatives = uniform(0, 1, Stream.NEGATIVES, positions)

    # Assert
    assert shuffle.min() >= 0.0 and shuffle.max() < 1.0
    assert abs(shuffle.mean() - 0.5) < 0.01
    assert not np.array_equal(shuffle, negatives)
