import json

import numpy as np

from clients.runtime import split_for
from fedrec.config import load_config
from fedrec.deploy.export import CATALOGUE, export_users, read_labels
from fedrec.deploy.userfile import user_split

SYNTHETIC = [
    "dataset=synthetic",
    "data.synthetic.n_users=12",
    "data.synthetic.n_items=60",
    "data.eval_negatives=5",
]


def test_every_user_gets_a_file_over_the_simulations_catalogue(tmp_path):
    # Prepare
    cfg = load_config(overrides=SYNTHETIC)
    split = split_for(cfg)
    # Execute
    written = export_users(cfg, tmp_path)
    # Assert: same catalogue and users as the simulation, and the same held-out items.
    assert written.n_items == split.n_items
    assert len(written.files) == split.n_users
    assert json.loads((tmp_path / CATALOGUE).read_text())["n_items"] == split.n_items
    for user, path in enumerate(written.files):
        mine = user_split(path, written.n_items, 3, 5, seed=0)
        np.testing.assert_array_equal(mine.user_train_items(0), split.user_train_items(user))
        assert mine.test_items[0] == split.test_items[user]
        assert mine.val_items[0] == split.val_items[user]
    labels = read_labels(tmp_path / "items.csv")
    assert len(labels) == split.n_items


def test_max_users_limits_the_files(tmp_path):
    written = export_users(load_config(overrides=SYNTHETIC), tmp_path, max_users=2)
    assert [p.name for p in written.files] == ["user-00000.csv", "user-00001.csv"]
