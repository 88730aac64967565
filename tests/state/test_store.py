import numpy as np
import pytest
import torch

from fedrec.models.fedrap import initial_state
from fedrec.state.private import TouchedState
from fedrec.state.store import ClientStateStore


def _store(path, users=(4, 5, 9)):
    return ClientStateStore(path, np.array(users), initial_state(n_items=6, dim=3, seed=0))


def test_untrained_users_read_as_the_initial_state(tmp_path):
    store = _store(tmp_path)
    state = store.load(np.array([5, 9]))
    torch.testing.assert_close(state.item_local[1], store.init.item_local)
    touched = store.touched(np.array([5]), np.array([0, 0]), np.array([1, 4]))
    torch.testing.assert_close(touched.local_rows, store.init.item_local[[1, 4]])


def test_update_writes_touched_rows_and_decays_the_others_and_persists(tmp_path):
    # Prepare: user 5 trains rows 1 and 4; its other rows decay by 0.5.
    store = _store(tmp_path)
    rows = torch.full((2, 3), 7.0)
    new = TouchedState(rows, torch.ones(1, 3), torch.full((1,), 2.0))
    # Execute: two rounds, then reopen from disk in a fresh store object.
    store.update(np.array([5]), np.array([0, 0]), np.array([1, 4]), new, torch.tensor([0.5]))
    again = TouchedState(torch.full((1, 3), 3.0), torch.ones(1, 3), torch.zeros(1))
    store.update(np.array([5]), np.array([0]), np.array([2]), again, torch.tensor([0.5]))
    store.flush()
    dense = _store(tmp_path).load(np.array([4, 5]))
    # Assert
    expected = store.init.item_local * 0.25
    expected[[1, 4]] = 7.0 * 0.5
    expected[2] = 3.0
    torch.testing.assert_close(dense.item_local[1], expected)
    torch.testing.assert_close(dense.item_local[0], store.init.item_local)
    assert float(dense.head_bias[1]) == 0.0


def test_store_refuses_users_it_does_not_hold_and_mismatched_files(tmp_path):
    store = _store(tmp_path, (1, 2))
    with pytest.raises(KeyError):
        store.load(np.array([3]))
    with pytest.raises(ValueError, match="expected"):
        _store(tmp_path, (1, 2, 3))
