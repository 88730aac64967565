"""One user's interaction file on a device, and its leave-one-out split.

The file is a CSV with header ``item[,rating][,timestamp]``: item ids are integers in the
federation's catalogue ``0..n_items-1`` (``fedrec export-users`` writes such files from any
registered dataset). Rows with ``rating <= 0`` are not interactions; a repeated item keeps its
latest row; timestamps default to row order. The split is the simulation's: latest item for
test, second latest for validation, the rest for training.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fedrec.data.errors import DataFormatError
from fedrec.data.preprocess import leave_one_out
from fedrec.data.types import FloatArray, IntArray, Interactions, SplitData

HEADER = ("item", "rating", "timestamp")


@dataclass(frozen=True)
class UserFileRows:
    """The parsed rows of a user file, in file order."""

    items: IntArray
    ratings: FloatArray
    timestamps: FloatArray


def read_user_file(path: Path, n_items: int) -> UserFileRows:
    """Parse a user file; malformed content raises ``DataFormatError`` naming file and line.

    Parameters
    ----------
    path : Path
        The CSV file.
    n_items : int
        Catalogue size; every item id must lie in ``0..n_items-1``.

    Returns
    -------
    UserFileRows
        Items, ratings (1.0 when absent) and timestamps (row order when absent).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DataFormatError(f"{path}: cannot read file: {err}") from err
    reader = csv.reader(text.splitlines())
    header = [name.strip() for name in next(reader, [])]
    if "item" not in header or any(name not in HEADER for name in header):
        raise DataFormatError(f"{path}: line 1: header must be item[,rating][,timestamp]")
    cols = {name: header.index(name) for name in header}
    items, ratings, times = [], [], []
    for row in reader:
        line = reader.line_num
        if not any(field.strip() for field in row):
            continue
        if len(row) != len(header):
            raise DataFormatError(f"{path}: line {line}: expected {len(header)} fields")
        items.append(_item(path, line, row[cols["item"]], n_items))
        ratings.append(_number(path, line, row[cols["rating"]]) if "rating" in cols else 1.0)
        stamp = _number(path, line, row[cols["timestamp"]]) if "timestamp" in cols else line
        times.append(float(stamp))
    return UserFileRows(
        np.array(items, dtype=np.int64),
        np.array(ratings, dtype=np.float64),
        np.array(times, dtype=np.float64),
    )


def user_split(
    path: Path, n_items: int, min_interactions: int, n_eval_negatives: int, seed: int
) -> SplitData:
    """Return the one-user split of a user file (cached per process and file version).

    Parameters
    ----------
    path : Path
        The user file.
    n_items : int
        Catalogue size.
    min_interactions : int
        Fewer distinct items than this is an error: the simulation drops such users.
    n_eval_negatives : int
        Evaluation negatives, drawn from the items the user never interacted with.
    seed : int
        Seed of the evaluation negatives.

    Returns
    -------
    SplitData
        A split with ``n_users = 1`` over the whole catalogue.
    """
    version = path.stat().st_mtime_ns if path.exists() else 0
    return _cached_split(path, version, n_items, min_interactions, n_eval_negatives, seed)


def seen_items(split: SplitData) -> IntArray:
    """Return every item the split's only user interacted with, sorted."""
    held = np.array([split.val_items[0], split.test_items[0]], dtype=np.int64)
    return np.unique(np.concatenate([split.user_train_items(0), held]))


@functools.lru_cache(maxsize=4)
def _cached_split(
    path: Path, version: int, n_items: int, min_interactions: int, negatives: int, seed: int
) -> SplitData:
    del version  # part of the cache key only: an edited file is read again
    rows = read_user_file(path, n_items)
    keep = np.flatnonzero(rows.ratings > 0)
    keep = keep[_latest_per_item(rows.items[keep], rows.timestamps[keep])]
    if len(keep) < max(min_interactions, 3):
        raise DataFormatError(
            f"{path}: {len(keep)} distinct items, fewer than the {max(min_interactions, 3)} "
            "a user needs (data.min_interactions; 3 for the leave-one-out split)"
        )
    inter = Interactions(
        users=np.zeros(len(keep), dtype=np.int64),
        items=rows.items[keep],
        timestamps=rows.timestamps[keep],
        ratings=rows.ratings[keep],
        user_labels=[str(path)],
        item_labels=[str(i) for i in range(n_items)],
    )
    return leave_one_out(inter, str(path), negatives, seed)


def _latest_per_item(items: IntArray, times: FloatArray) -> IntArray:
    """Return the sorted positions of each item's latest row (the later row on equal times)."""
    order = np.lexsort((np.arange(len(items)), times, items))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = items[order][1:] != items[order][:-1]
    return np.sort(order[last])


def _item(path: Path, line: int, token: str, n_items: int) -> int:
    try:
        item = int(token)
    except ValueError:
        raise DataFormatError(f"{path}: line {line}: item id {token!r} is not an integer") from None
    if not 0 <= item < n_items:
        raise DataFormatError(
            f"{path}: line {line}: item id {item} outside the catalogue 0..{n_items - 1}"
        )
    return item


def _number(path: Path, line: int, token: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise DataFormatError(f"{path}: line {line}: {token!r} is not a number") from None
