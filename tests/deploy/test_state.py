import json
import re

import numpy as np
import pytest

from fedrec.deploy.state import (
    MANIFEST,
    DeviceState,
    StateCorruptError,
    StateIdentity,
    load_state,
    save_state,
)

IDENTITY = StateIdentity(n_items=6, dim=3, seed=0, variant="full")


def _state(value: float = 1.0) -> DeviceState:
    rng = np.random.default_rng(int(value))
    return DeviceState(
        identity=IDENTITY,
        item_local=rng.normal(size=(6, 3)).astype(np.float32),
        head_weight=np.full(3, value, dtype=np.float32),
        head_bias=np.array([value], dtype=np.float32),
        item_global=rng.normal(size=(6, 3)).astype(np.float32),
        seen=np.array([1, 4]),
        sample_key=12345,
    )


def test_save_then_load_round_trips_arrays_and_history(tmp_path):
    # Prepare
    state = _state()
    save_state(tmp_path, state, {"event": "init", "round": 0})
    state.item_local += 1
    state.trained_round = 1
    digest = save_state(tmp_path, state, {"event": "train", "round": 1})
    # Execute
    loaded = load_state(tmp_path, IDENTITY)
    # Assert
    assert loaded is not None
    np.testing.assert_array_equal(loaded.item_local, state.item_local)
    np.testing.assert_array_equal(loaded.item_global, state.item_global)
    np.testing.assert_array_equal(loaded.seen, [1, 4])
    assert (loaded.sample_key, loaded.trained_round) == (12345, 1)
    assert [e["event"] for e in loaded.history] == ["init", "train"]
    assert loaded.history[1]["parent"] == loaded.history[0]["sha256"]
    assert loaded.checksum == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST, "state-000001.npz"]


def test_empty_folder_has_no_state(tmp_path):
    assert load_state(tmp_path / "nothing", IDENTITY) is None


def test_a_damaged_array_file_fails_its_checksum_naming_the_file(tmp_path):
    save_state(tmp_path, _state(), {"event": "init", "round": 0})
    path = tmp_path / "state-000000.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(StateCorruptError, match=re.escape(f"{path}: checksum mismatch")):
        load_state(tmp_path, IDENTITY)


def test_an_unreadable_manifest_is_reported_naming_it(tmp_path):
    save_state(tmp_path, _state(), {"event": "init", "round": 0})
    (tmp_path / MANIFEST).write_text('{"format": 1, "file": ')
    with pytest.raises(StateCorruptError, match=re.escape(f"{tmp_path / MANIFEST}: unreadable")):
        load_state(tmp_path, IDENTITY)


def test_a_save_killed_before_its_manifest_leaves_the_previous_state(tmp_path):
    # Prepare: a saved state, then the debris of a save killed before the manifest rename:
    # the next array file written in full, and a half-written manifest temp file.
    state = _state()
    save_state(tmp_path, state, {"event": "init", "round": 0})
    (tmp_path / "state-000001.npz").write_bytes(b"new arrays, never committed")
    (tmp_path / f".{MANIFEST}.tmp-999").write_text('{"form')
    # Execute
    loaded = load_state(tmp_path, IDENTITY)
    assert loaded is not None
    save_state(tmp_path, loaded, {"event": "train", "round": 1})
    # Assert: the old state was intact, and the next save replaced the debris.
    assert loaded.history[-1]["parent"] == loaded.history[0]["sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST, "state-000001.npz"]
    assert load_state(tmp_path, IDENTITY) is not None


def test_state_of_another_catalogue_is_refused(tmp_path):
    save_state(tmp_path, _state(), {"event": "init", "round": 0})
    other = StateIdentity(n_items=7, dim=3, seed=0, variant="full")
    with pytest.raises(ValueError, match="another state-dir"):
        load_state(tmp_path, other)


def test_manifest_records_identity_and_checksum(tmp_path):
    digest = save_state(tmp_path, _state(), {"event": "init", "round": 0})
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["sha256"] == digest
    assert manifest["identity"] == {"n_items": 6, "dim": 3, "seed": 0, "variant": "full"}
