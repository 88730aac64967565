"""Readers from common rating-file formats into :class:`~fedrec.data.types.Interactions`.

Every reader assigns dense user and item ids in order of first appearance and keeps the original
ids, as strings, in the labels. Malformed input raises :class:`DataFormatError` naming the file
and the 1-based line number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fedrec.data.errors import DataFormatError
from fedrec.data.types import FloatArray, IntArray, Interactions

_Columns = tuple[int, int, int | None, int | None]


def read_inter(path: str | Path) -> Interactions:
    """Read a RecBole atomic ``.inter`` file.

    The header names typed columns such as ``user_id:token`` and ``timestamp:float``; columns
    are located by the name before the colon. Fields are split on tabs only, so item ids may
    contain spaces and punctuation. ``rating`` (default 1.0) and ``timestamp`` (default: row
    order) are optional.

    Parameters
    ----------
    path : str or Path
        The ``.inter`` file.

    Returns
    -------
    Interactions
        The interactions in file order.
    """
    header, flat = _tab_table(path, b"\t", None)
    names = [field.split(":", 1)[0].strip() for field in header]
    cols = _locate(path, names, ("user_id", "item_id", "rating", "timestamp"), required=2)
    return _build(path, flat, len(names), 2, cols)


def read_movielens_100k(path: str | Path) -> Interactions:
    """Read the original MovieLens 100K ``u.data`` (tab-separated ``user item rating time``).

    Parameters
    ----------
    path : str or Path
        The ``u.data`` file, without a header.

    Returns
    -------
    Interactions
        The interactions in file order.
    """
    _, flat = _tab_table(path, b"\t", 4)
    return _build(path, flat, 4, 1, (0, 1, 2, 3))


def read_movielens_1m(path: str | Path) -> Interactions:
    """Read the original MovieLens 1M ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``).

    Parameters
    ----------
    path : str or Path
        The ``ratings.dat`` file, without a header.

    Returns
    -------
    Interactions
        The interactions in file order.
    """
    _, flat = _tab_table(path, b"::", 4)
    return _build(path, flat, 4, 1, (0, 1, 2, 3))


def read_csv(path: str | Path) -> Interactions:
    """Read a CSV file with header ``user,item[,rating][,timestamp]``.

    A missing ``rating`` column means 1.0 for every row; a missing ``timestamp`` column means
    row order. Extra columns are ignored; fields may be quoted.

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    Interactions
        The interactions in file order.
    """
    reader = csv.reader(io.StringIO(_decode(_read_bytes(path)), newline=""))
    header = next(reader, None)
    if header is None:
        raise DataFormatError(f"{path}: line 1: empty file")
    names = [field.strip() for field in header]
    cols = _locate(path, names, ("user", "item", "rating", "timestamp"), required=2)
    flat: list[str] = []
    for row in reader:
        if len(row) != len(names) and any(field.strip() for field in row):
            raise DataFormatError(
                f"{path}: line {reader.line_num}: expected {len(names)} fields, got {len(row)}"
            )
        if len(row) == len(names):
            flat.extend(row)
    return _build(path, flat, len(names), 2, cols)


def read_lastfm(path: str | Path) -> Interactions:
    """Read HetRec 2011 LastFM ``user_artists.dat`` (header ``userID  artistID  weight``).

    The listening count ``weight`` becomes the rating. The file has no timestamps, so the row
    order is used as the timestamp: leave-one-out then holds out each user's last rows.

    Parameters
    ----------
    path : str or Path
        The tab-separated ``user_artists.dat`` file.

    Returns
    -------
    Interactions
        The interactions in file order.
    """
    header, flat = _tab_table(path, b"\t", None)
    names = [field.strip() for field in header]
    cols = _locate(path, names, ("userID", "artistID", "weight"), required=3)
    user_col, item_col = cols[0], cols[1]
    assert user_col is not None and item_col is not None
    return _build(path, flat, len(names), 2, (user_col, item_col, cols[2], None))


def _read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise DataFormatError(f"{path}: cannot read file: {err}") from err


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _tab_table(path: str | Path, sep: bytes, n_cols: int | None) -> tuple[list[str], list[str]]:
    """Split a delimited file into its header (when ``n_cols`` is None) and flat data fields.

    Splitting the whole text at once, instead of line by line, avoids creating a million small
    lists; the field count of every line is checked with numpy on the raw bytes.
    """
    raw = _read_bytes(path).replace(b"\r\n", b"\n").rstrip(b"\n")
    if sep != b"\t":
        raw = raw.replace(sep, b"\t")
    if not raw.strip():
        raise DataFormatError(f"{path}: line 1: empty file")
    counts = _fields_per_line(raw)
    text = _decode(raw)
    header: list[str] = []
    first = 0
    if n_cols is None:
        header_line, _, text = text.partition("\n")
        header, n_cols, first = header_line.split("\t"), int(counts[0]), 1
    if first >= len(counts):
        raise DataFormatError(f"{path}: line {first + 1}: no interactions in file")
    bad = np.flatnonzero(counts[first:] != n_cols)
    if bad.size:
        line = int(bad[0]) + first
        raise DataFormatError(
            f"{path}: line {line + 1}: expected {n_cols} fields, got {int(counts[line])}"
        )
    return header, text.replace("\n", "\t").split("\t")


def _fields_per_line(raw: bytes) -> IntArray:
    """Count the tab-separated fields of every line (tab and newline never occur in UTF-8 runs)."""
    data = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(data == ord("\n"))
    tabs = np.flatnonzero(data == ord("\t"))
    line_of_tab = np.searchsorted(newlines, tabs)
    return np.bincount(line_of_tab, minlength=len(newlines) + 1).astype(np.int64) + 1


def _locate(path: str | Path, names: list[str], wanted: Sequence[str], required: int) -> _Columns:
    """Return the column index of each wanted name; the first ``required`` must be present."""
    cols = [names.index(w) if w in names else None for w in wanted]
    missing = [w for w, c in zip(wanted[:required], cols, strict=False) if c is None]
    if missing:
        raise DataFormatError(f"{path}: line 1: header {names} lacks required columns {missing}")
    user_col, item_col = cols[0], cols[1]
    assert user_col is not None and item_col is not None
    return user_col, item_col, cols[2], cols[3] if len(cols) > 3 else None


def _build(
    path: str | Path, flat: list[str], n_cols: int, first_line: int, cols: _Columns
) -> Interactions:
    """Build interactions from row-major fields; ``first_line`` is the 1-based line of row 0."""
    n_rows = len(flat) // n_cols
    if n_rows == 0:
        raise DataFormatError(f"{path}: line {first_line}: no interactions in file")
    user_col, item_col, rating_col, time_col = cols
    users, user_labels = _dense_ids(flat[user_col::n_cols])
    items, item_labels = _dense_ids(flat[item_col::n_cols])
    ratings = np.ones(n_rows)
    if rating_col is not None:
        ratings = _floats(path, flat[rating_col::n_cols], rating_col, first_line)
    timestamps = np.arange(n_rows, dtype=np.float64)
    if time_col is not None:
        timestamps = _floats(path, flat[time_col::n_cols], time_col, first_line)
    return Interactions(users, items, timestamps, ratings, user_labels, item_labels)


def _dense_ids(tokens: list[str]) -> tuple[IntArray, list[str]]:
    """Map tokens to dense ids in order of first appearance."""
    index: dict[str, int] = {}
    ids = [index.setdefault(token, len(index)) for token in tokens]
    return np.array(ids, dtype=np.int64), list(index)


def _floats(path: str | Path, column: list[str], col: int, first_line: int) -> FloatArray:
    try:
        return np.array(column, dtype=np.float64)
    except ValueError:
        pass
    for i, token in enumerate(column):
        try:
            float(token)
        except ValueError:
            raise DataFormatError(
                f"{path}: line {i + first_line}: not a number in column {col + 1}: {token!r}"
            ) from None
    raise DataFormatError(f"{path}: non-numeric value in column {col + 1}")  # pragma: no cover
