from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from fedrec.data import (
    DataFormatError,
    read_csv,
    read_inter,
    read_lastfm,
    read_movielens_1m,
    read_movielens_100k,
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_inter_locates_columns_and_keeps_titles(tmp_path):
    # Prepare: columns in a non-default order, titles with spaces and quotes, CRLF endings
    text = (
        "timestamp:float\tuser_id:token\titem_id:token\trating:float\r\n"
        "10\tu1\tOne Flew Over the Cuckoo's Nest (1975)\t5\r\n"
        "11\tu2\tHeat (1995)\t3\r\n"
        "12\tu1\tHeat (1995)\t4\r\n"
    )
    path = _write(tmp_path, "x.inter", text)
    # Execute
    inter = read_inter(path)
    # Assert
    assert inter.user_labels == ["u1", "u2"]
    assert inter.item_labels == [
        "One Flew Over the Cuckoo's Nest (1975)",
        "Heat (1995)",
    ]
    np.testing.assert_array_equal(inter.users, [0, 1, 0])
    np.testing.assert_array_equal(inter.items, [0, 1, 1])
    np.testing.assert_array_equal(inter.ratings, [5.0, 3.0, 4.0])
    np.testing.assert_array_equal(inter.timestamps, [10.0, 11.0, 12.0])


def test_read_movielens_100k(tmp_path):
    # Prepare
    path = _write(
        tmp_path,
        "u.data",
        "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t1\t5\n",
    )
    # Execute
    inter = read_movielens_100k(path)
    # Assert
    assert inter.user_labels == ["196", "186"]
    assert inter.item_labels == ["242", "302"]
    np.testing.assert_array_equal(inter.users, [0, 1, 0])
    np.testing.assert_array_equal(inter.items, [0, 1, 1])
    np.testing.assert_array_equal(inter.timestamps, [881250949.0, 891717742.0, 5.0])


def test_read_movielens_1m(tmp_path):
    # Prepare
    path = _write(tmp_path, "ratings.dat", "1::1193::5::978300760\n2::661::3::978302109\n")
    # Execute
    inter = read_movielens_1m(path)
    # Assert
    assert inter.user_labels == ["1", "2"]
    assert inter.item_labels == ["1193", "661"]
    np.testing.assert_array_equal(inter.ratings, [5.0, 3.0])
    np.testing.assert_array_equal(inter.timestamps, [978300760.0, 978302109.0])


def test_read_csv_full_and_optional_columns(tmp_path):
    # Prepare
    full = _write(tmp_path, "a.csv", 'user,item,rating,timestamp\na,"x, y",2,7\nb,z,0,8\n')
    minimal = _write(tmp_path, "b.csv", "item,user\nx,a\ny,a\nx,b\n")
    # Execute
    first, second = read_csv(full), read_csv(minimal)
    # Assert
    assert first.item_labels == ["x, y", "z"]
    np.testing.assert_array_equal(first.ratings, [2.0, 0.0])
    np.testing.assert_array_equal(first.timestamps, [7.0, 8.0])
    assert second.user_labels == ["a", "b"]
    np.testing.assert_array_equal(second.items, [0, 1, 0])
    np.testing.assert_array_equal(second.ratings, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(second.timestamps, [0.0, 1.0, 2.0])


def test_read_lastfm_uses_weight_and_row_order(tmp_path):
    # Prepare
    path = _write(
        tmp_path,
        "user_artists.dat",
        "userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n4\t51\t3\n",
    )
    # Execute
    inter = read_lastfm(path)
    # Assert
    assert inter.user_labels == ["2", "4"]
    np.testing.assert_array_equal(inter.items, [0, 1, 0])
    np.testing.assert_array_equal(inter.ratings, [13883.0, 11690.0, 3.0])
    np.testing.assert_array_equal(inter.timestamps, [0.0, 1.0, 2.0])


_INTER_HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"


@pytest.mark.parametrize(
    ("reader", "name", "text", "line"),
    [
        (read_inter, "a.inter", _INTER_HEADER + "1\t2\t3\t4\n1\t2\t3\n", 3),
        (read_inter, "b.inter", _INTER_HEADER + "1\t2\t3\t4\n1\t2\tfive\t4\n", 3),
        (read_inter, "c.inter", _INTER_HEADER + "1\t2\t3\t4\n\n1\t2\t3\t4\n", 3),
        (read_inter, "d.inter", "user_id:token\trating:float\n1\t2\n", 1),
        (read_inter, "e.inter", "", 1),
        (read_inter, "f.inter", _INTER_HEADER, 2),
        (read_movielens_100k, "u.data", "1\t2\t3\t4\n1\t2\t3\tnoon\n", 2),
        (read_movielens_100k, "v.data", "1\t2\t3\t4\n1 2 3 4\n", 2),
        (read_movielens_1m, "ratings.dat", "1::2::3::4\n1::2::3::4\n1::2::3\n", 3),
        (read_csv, "a.csv", "user,item,rating\na,b,1\na,c\n", 3),
        (read_csv, "b.csv", "user,rating\na,1\n", 1),
        (read_csv, "c.csv", "user,item,rating\na,b,x\n", 2),
        (read_csv, "d.csv", "", 1),
        (read_lastfm, "l.dat", "userID\tartistID\n2\t51\n", 1),
        (read_lastfm, "m.dat", "userID\tartistID\tweight\n2\t51\tmany\n", 2),
    ],
)
def test_malformed_input_names_file_and_line(tmp_path, reader, name, text, line):
    # Prepare
    path = _write(tmp_path, name, text)
    # Execute / Assert
    with pytest.raises(DataFormatError, match=rf"{re.escape(name)}: line {line}\b"):
        reader(path)


def test_missing_file_raises_data_format_error(tmp_path):
    # Prepare
    path = tmp_path / "absent.inter"
    # Execute / Assert
    with pytest.raises(DataFormatError, match=r"absent\.inter"):
        read_inter(path)
