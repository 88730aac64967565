import numpy as np
import pytest
import torch

from fedrec.models.fedrap import initial_state
from fedrec.state.store import ClientStateStore


def test_untrained_users_read_as_the_initial_state_and_saved_users_persist(tmp_path):
    # Prepare
    init = initial_state(n_items=6, dim=3, seed=0)
    store = ClientStateStore(tmp_path, np.array([4, 5, 9]), init)
    state = store.load(np.array([5, 9]))
    torch.testing.assert_close(state.item_local[0], init.item_local)
    state.item_local += 1.0
    state.head_bias[:] = 7.0
    # Execute: save, then reopen from disk in a fresh store object.
    store.save(np.array([5, 9]), state)
    store.flush()
    again = ClientStateStore(tmp_path, np.array([4, 5, 9]), init).load(np.array([4, 5]))
    # Assert
    torch.testing.assert_close(again.item_local[0], init.item_local)
    torch.testing.assert_close(again.item_local[1], init.item_local + 1.0)
    assert float(again.head_bias[1]) == 7.0


def test_store_refuses_users_it_does_not_hold_and_mismatched_files(tmp_path):
    init = initial_state(n_items=6, dim=3, seed=0)
    store = ClientStateStore(tmp_path, np.array([1, 2]), init)
    with pytest.raises(KeyError):
        store.load(np.array([3]))
    with pytest.raises(ValueError, match="expected"):
        ClientStateStore(tmp_path, np.array([1, 2, 3]), init)
