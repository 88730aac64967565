import numpy as np
import pytest
import torch

from fedrec.models.fedrap import initial_state
from fedrec.state.private import TouchedState
from fedrec.state.store import ClientStateStore


def _store(path, users=(4, 5, 9), precision="float32"):
    init = initial_state(n_items=6, dim=3, seed=0)
    return ClientStateStore(path, np.array(users), init, precision)


def _train_rounds(store, rounds, decay):
    """Each round user 5 writes row 1 and every other row decays by ``decay``."""
    for r in range(rounds):
        rows = TouchedState(torch.full((1, 3), 1.0 + r / 3), torch.ones(1, 3), torch.zeros(1))
        store.update(np.array([5]), np.array([0]), np.array([1]), rows, torch.tensor([decay]))


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


@pytest.mark.parametrize("users", [(4, 5, 9), (4, 9), (9, 4, 5), (5,)])
def test_loading_users_together_equals_loading_each_alone(tmp_path, users):
    # Prepare: users 4 and 9 trained (different decays), user 5 never trained.
    store = _store(tmp_path)
    for user, decay in ((4, 0.5), (9, 0.8)):
        rows = TouchedState(torch.full((1, 3), float(user)), torch.ones(1, 3), torch.zeros(1))
        store.update(np.array([user]), np.array([0]), np.array([2]), rows, torch.tensor([decay]))
    # Execute: contiguous runs of slots are read as views, other orders by gathering.
    together = store.load(np.array(users))
    # Assert
    for i, user in enumerate(users):
        alone = store.load(np.array([user]))
        torch.testing.assert_close(together.item_local[i], alone.item_local[0])
        torch.testing.assert_close(together.head_weight[i], alone.head_weight[0])
    torch.testing.assert_close(store.load(np.array([5])).item_local[0], store.init.item_local)


def test_store_refuses_users_it_does_not_hold_and_mismatched_files(tmp_path):
    store = _store(tmp_path, (1, 2))
    with pytest.raises(KeyError):
        store.load(np.array([3]))
    with pytest.raises(ValueError, match="expected"):
        _store(tmp_path, (1, 2, 3))


def test_half_precision_store_matches_float32_within_rounding_and_renormalises(tmp_path):
    # Prepare: the same history in a float32 and a float16 store, long enough that the float16
    # store's scale (0.5 per round) must be renormalised several times.
    exact = _store(tmp_path / "f32")
    half = _store(tmp_path / "f16", precision="float16")
    # Execute
    _train_rounds(exact, 12, 0.5)
    _train_rounds(half, 12, 0.5)
    # Assert: half the bytes, values within float16 rounding of a few writes, D' kept small.
    want = exact.load(np.array([5])).item_local
    got = half.load(np.array([5])).item_local
    torch.testing.assert_close(got, want, rtol=4e-3, atol=1e-6)
    assert half._local.dtype == np.float16 and half._local.nbytes * 2 == exact._local.nbytes
    assert np.abs(half._local[1]).max() < 16 * np.abs(want.numpy()).max() + 1
    assert half._scale[1] >= 1 / 16


def test_half_precision_store_refuses_values_it_cannot_hold_and_a_changed_precision(tmp_path):
    store = _store(tmp_path, precision="float16")
    huge = TouchedState(torch.full((1, 3), 1e6), torch.ones(1, 3), torch.zeros(1))
    with pytest.raises(OverflowError, match="state_precision"):
        store.update(np.array([4]), np.array([0]), np.array([0]), huge, torch.tensor([1.0]))
    with pytest.raises(ValueError, match="expected"):
        _store(tmp_path, precision="float32")
    with pytest.raises(ValueError, match="float32 or float16"):
        _store(tmp_path / "other", precision="int8")


def _store_without_d(path, users=(4, 5, 9)):
    init = initial_state(n_items=6, dim=3, seed=0, variant="global_only")
    return ClientStateStore(path, np.array(users), init, keep_local=False)


def test_a_store_without_d_keeps_heads_only_and_reads_d_as_zeros(tmp_path):
    # Prepare: user 5 trains (its D rows stay zero), then the store is reopened from disk.
    store = _store_without_d(tmp_path)
    rows = TouchedState(torch.zeros(2, 3), torch.full((1, 3), 2.0), torch.full((1,), 3.0))
    # Execute
    store.update(np.array([5]), np.array([0, 0]), np.array([1, 4]), rows, torch.tensor([0.5]))
    store.flush()
    again = _store_without_d(tmp_path)
    dense = again.load(np.array([4, 5]))
    touched = again.touched(np.array([5]), np.array([0]), np.array([2]))
    # Assert: no D file, zero D everywhere, the trained head kept and the others initial.
    assert not (tmp_path / "item_local.npy").exists()
    assert not dense.has_local and dense.item_local.shape == (2, 6, 3)
    assert not dense.item_local.any() and not touched.local_rows.any()
    torch.testing.assert_close(dense.head_weight[1], torch.full((3,), 2.0))
    torch.testing.assert_close(dense.head_weight[0], store.init.head_weight)
    assert float(dense.head_bias[1]) == 3.0


def test_a_store_without_d_refuses_a_nonzero_d(tmp_path):
    store = _store_without_d(tmp_path)
    changed = TouchedState(torch.ones(1, 3), torch.ones(1, 3), torch.zeros(1))
    with pytest.raises(ValueError, match="changed D's rows"):
        store.update(np.array([4]), np.array([0]), np.array([0]), changed, torch.tensor([1.0]))
    with pytest.raises(ValueError, match="no D to replace"):
        store.replace_local(np.array([4]), torch.ones(1, 6, 3))
    with pytest.raises(ValueError, match="zero initial D"):
        ClientStateStore(
            tmp_path / "x", np.array([1]), _store(tmp_path / "y").init, keep_local=False
        )
    assert not store._trained[0]  # the refused round stored nothing
