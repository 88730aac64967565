import re

import numpy as np
import pytest

from fedrec.data.errors import DataFormatError
from fedrec.deploy.userfile import read_user_file, seen_items, user_split
from tests.deploy.conftest import N_ITEMS, write_user


def test_split_holds_out_the_latest_two_items_and_keeps_the_latest_duplicate(tmp_path):
    # Prepare: item 7 appears twice; its later row (t=9) makes it the latest interaction.
    path = tmp_path / "u.csv"
    rows = ["3,5", "7,1", "11,2", "5,3", "13,4", "2,6", "7,9", "9,0", "4,7.5", "1,-1"]
    path.write_text("item,timestamp\n" + "\n".join(rows) + "\n")
    # Execute
    split = user_split(path, N_ITEMS, 3, 5, seed=1)
    # Assert
    assert split.n_users == 1 and split.n_items == N_ITEMS
    assert split.test_items.tolist() == [7]
    assert split.val_items.tolist() == [4]
    assert split.user_train_items(0).tolist() == [1, 2, 3, 5, 9, 11, 13]
    assert not np.isin(split.eval_negatives[0], seen_items(split)).any()


def test_rows_with_a_non_positive_rating_are_not_interactions(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("item,rating,timestamp\n1,1,1\n2,0,2\n3,4,3\n4,5,4\n5,1,5\n")
    split = user_split(path, N_ITEMS, 3, 5, seed=0)
    assert 2 not in seen_items(split).tolist()
    assert split.test_items.tolist() == [5]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("item,timestamp\n1,1\nx,2\n", "line 3: item id 'x' is not an integer"),
        ("item,timestamp\n1,1\n2,2\n40,3\n", "line 4: item id 40 outside the catalogue 0..39"),
        ("item,timestamp\n1,1\n2\n", "line 3: expected 2 fields"),
        ("item,timestamp\n1,1\n2,soon\n", "line 3: 'soon' is not a number"),
        ("user,item\n1,1\n", "line 1: header must be item"),
    ],
)
def test_malformed_file_names_file_and_line(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(DataFormatError, match=re.escape(f"{path}: {message}")):
        read_user_file(path, N_ITEMS)


def test_too_few_interactions_is_a_clear_error(tmp_path):
    path = write_user(tmp_path / "u.csv", [1, 2, 3, 4])
    with pytest.raises(DataFormatError, match=r"4 distinct items, fewer than the 10"):
        user_split(path, N_ITEMS, 10, 5, seed=0)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataFormatError, match=re.escape("nowhere.csv: cannot read file")):
        user_split(tmp_path / "nowhere.csv", N_ITEMS, 3, 5, seed=0)
