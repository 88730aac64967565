"""Per-user sparse updates: wire round trip, per-user byte counts, bad users."""

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord

from fedrec.aggregation.codec import encode_block
from fedrec.aggregation.updates import UserUpdates


def make_updates(n_users=4, n_items=12, dim=5, seed=0, zero_share=0.5):
    """Random per-user updates: each user touches a random subset of distinct rows."""
    rng = np.random.default_rng(seed)
    rows = [
        np.sort(rng.choice(n_items, rng.integers(1, n_items // 2 + 1), replace=False))
        for _ in range(n_users)
    ]
    counts = np.array([len(r) for r in rows])
    values = rng.normal(size=(counts.sum(), dim)).astype(np.float32)
    values[rng.random(values.shape) < zero_share] = 0
    return UserUpdates(
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        rows=np.concatenate(rows).astype(np.int64),
        values=values,
        scales=rng.uniform(0.7, 1.0, n_users),
        weights=rng.integers(1, 5, n_users).astype(np.float64),
    )


def test_wire_round_trip_keeps_everything():
    # Prepare
    updates = make_updates()
    # Execute
    back = UserUpdates.from_arrays(updates.to_arrays(), 12, 5)
    # Assert
    np.testing.assert_array_equal(back.rows, updates.rows)
    np.testing.assert_array_equal(back.values, updates.values)
    np.testing.assert_allclose(back.scales, updates.scales, rtol=1e-7)


@pytest.mark.parametrize("zero_share", [0.0, 0.5, 0.95])
def test_upload_bytes_are_those_of_each_users_own_serialised_message(zero_share):
    # Prepare
    updates = make_updates(zero_share=zero_share, dim=32, n_items=40)
    # Execute
    counted = updates.upload_nbytes()
    # Assert: build every user's message for real and let Flower count it.
    for u in range(updates.n_users):
        lo, hi = updates.offsets[u], updates.offsets[u + 1]
        parts = {
            "rows": updates.rows[lo:hi].astype(np.int32),
            "scale": np.array([updates.scales[u]], dtype=np.float32),
            **encode_block(updates.values[lo:hi]),
        }
        record = ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in parts.items()})
        assert counted[u] == record.count_bytes()


def test_inconsistent_parts_are_refused():
    arrays = make_updates().to_arrays()
    arrays["rows"] = arrays["rows"] + 100  # outside the catalogue
    with pytest.raises(ValueError, match="row ids"):
        UserUpdates.from_arrays(arrays, 12, 5)


def test_bad_users_are_named_with_their_reason():
    # Prepare
    updates = make_updates(zero_share=0.0)
    updates.values[updates.offsets[1]] = np.nan
    updates.scales[2] = np.inf
    updates.weights[3] = -1
    # Execute
    bad = updates.bad_users()
    # Assert
    assert bad == {
        1: "non-finite values",
        2: "non-finite values",
        3: "non-finite or negative weight",
    }
