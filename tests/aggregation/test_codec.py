"""The sparse codec: exact round trips and exact byte counts (Prepare / Execute / Assert)."""

import io

import numpy as np
from flwr.app import Array, ArrayRecord
from hypothesis import given, settings
from hypothesis import strategies as st

from fedrec.aggregation.codec import (
    MASK,
    ROWS,
    VALUES,
    decode_arrays,
    encode_arrays,
    encode_matrix,
    npy_nbytes,
    npy_nbytes_many,
    record_nbytes,
)


def _matrix(n, dim, row_density, entry_density, seed):
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(n, dim)).astype(np.float32)
    matrix[rng.random(n) >= row_density] = 0
    matrix[rng.random((n, dim)) >= entry_density] = 0
    return matrix


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 60),
    dim=st.integers(1, 40),
    row_density=st.floats(0, 1),
    entry_density=st.floats(0, 1),
    seed=st.integers(0, 2**16),
)
def test_round_trip_is_exact_and_bytes_match_the_serialised_record(
    n, dim, row_density, entry_density, seed
):
    # Prepare
    matrix = _matrix(n, dim, row_density, entry_density, seed)
    # Execute
    encoded = encode_arrays({"c": matrix, "v": np.arange(3, dtype=np.float32)})
    decoded = decode_arrays(encoded)
    record = ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in encoded.items()})
    dense = ArrayRecord({"c": Array(matrix), "v": Array(np.arange(3, dtype=np.float32))})
    # Assert: lossless, never larger than dense, and the size is Flower's own count.
    np.testing.assert_array_equal(decoded["c"], matrix)
    np.testing.assert_array_equal(decoded["v"], np.arange(3, dtype=np.float32))
    assert record_nbytes(encoded) == record.count_bytes()
    assert record.count_bytes() <= dense.count_bytes() + len("c.values") - len("c")


def test_the_smallest_form_is_chosen_with_the_names_the_parts_travel_under():
    # Prepare: a case (found by hypothesis) where the bit-mask form is 3 bytes smaller than
    # dense under bare part names, but 1 byte larger once each of its 3 keys gets "c.".
    matrix = _matrix(56, 14, 0.8428784127039487, 0.9619348413460918, 21039)
    dense = ArrayRecord({"c.values": Array(matrix)})
    # Execute
    encoded = encode_arrays({"c": matrix})
    # Assert
    assert record_nbytes(encoded) <= dense.count_bytes()


def test_a_ten_percent_dense_matrix_travels_in_a_fraction_of_the_dense_bytes():
    # Prepare: 1682 × 32 like ML-100K's C, 10 % of the entries non-zero.
    matrix = _matrix(1682, 32, 1.0, 0.1, 0)
    # Execute
    encoded = encode_matrix(matrix)
    # Assert: a mask over all entries (every row has some non-zero) plus 10 % of the values.
    assert ROWS not in encoded and MASK in encoded
    assert record_nbytes(encoded) < 0.14 * record_nbytes({VALUES: matrix})


def test_a_matrix_with_few_non_zero_rows_travels_as_those_rows():
    matrix = _matrix(1682, 32, 0.05, 1.0, 0)
    encoded = encode_matrix(matrix)
    assert ROWS in encoded and MASK not in encoded


def test_a_dense_matrix_travels_dense():
    matrix = np.ones((5, 4), dtype=np.float32)
    assert set(encode_matrix(matrix)) == {VALUES}


@settings(max_examples=50, deadline=None)
@given(
    leading=st.lists(st.integers(0, 10**7), min_size=1, max_size=20),
    tail=st.sampled_from([(), (3,), (32,), (4, 1000)]),
    dtype=st.sampled_from(["<f4", "<i4", "|u1"]),
)
def test_sizes_of_many_arrays_equal_those_counted_one_by_one(leading, tail, dtype):
    # Execute
    many = npy_nbytes_many(np.array(leading), tail, dtype)
    # Assert
    assert many.tolist() == [npy_nbytes((n, *tail), dtype) for n in leading]


def test_sizes_of_arrays_match_numpys_own_files():
    # Prepare: the digit counts where the header's padding could change
    for n in (0, 9, 10, 99, 100, 12345):
        buffer = io.BytesIO()
        np.save(buffer, np.zeros((n, 7), dtype="<f4"))
        # Execute / Assert
        assert npy_nbytes_many(np.array([n]), (7,), "<f4")[0] == buffer.tell()
