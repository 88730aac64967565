"""Sparse encodings of item-embedding matrices, and their exact size on the wire.

One module encodes and decodes everything sparse that crosses the wire:

* a **block** of rows ``(R, d)`` is sent either dense (``values`` of shape ``(R, d)``) or as a
  packed bit mask of its non-zero entries (``mask``, ``(R, ceil(d / 8))`` uint8) plus those
  entries (``values``, ``(nnz,)``), whichever is smaller;
* a **matrix** ``(n, d)`` is sent dense, as the ids of its non-zero rows (``rows``, int32)
  plus the block of those rows, or as one bit mask over all its entries plus the non-zero
  values, whichever is smallest, with its ``shape``.

Sizes are those of Flower's serialisation: an :class:`~flwr.app.Array` stores the array in
``.npy`` format (a header of 128 bytes for these shapes, then the raw data) and
``ArrayRecord.count_bytes`` adds the length of each key. :func:`record_nbytes` reproduces that
count without building the record (tested against ``count_bytes``).
"""

from __future__ import annotations

import io

import numpy as np

SEP = "."  # "<name>.<part>" keys inside an ArrayRecord
VALUES, MASK, ROWS, SHAPE = "values", "mask", "rows", "shape"
_FLOAT = np.dtype(np.float32)
_INDEX = np.dtype(np.int32)


def encode_block(block: np.ndarray) -> dict[str, np.ndarray]:
    """Encode a ``(R, d)`` block dense or as mask + non-zero values, whichever is smaller."""
    block = np.ascontiguousarray(block, dtype=_FLOAT)
    dense = {VALUES: block}
    nonzero = block != 0
    masked = {MASK: np.packbits(nonzero, axis=1), VALUES: block[nonzero]}
    return masked if record_nbytes(masked) < record_nbytes(dense) else dense


def decode_block(parts: dict[str, np.ndarray], n_rows: int, dim: int) -> np.ndarray:
    """Decode :func:`encode_block`'s output back to a dense ``(n_rows, dim)`` float32 block.

    Raises
    ------
    ValueError
        If the parts do not describe an ``(n_rows, dim)`` block.
    """
    values = np.asarray(parts[VALUES])
    if MASK not in parts:
        if values.shape != (n_rows, dim):
            raise ValueError(f"block of shape {values.shape}, expected {(n_rows, dim)}")
        return values.astype(_FLOAT, copy=False)
    mask = np.asarray(parts[MASK])
    if mask.dtype != np.uint8 or mask.shape != (n_rows, (dim + 7) // 8):
        raise ValueError(f"mask of shape {mask.shape}, expected {(n_rows, (dim + 7) // 8)}")
    nonzero = np.unpackbits(mask, axis=1, count=dim).astype(bool)
    if values.ndim != 1 or len(values) != int(nonzero.sum()):
        raise ValueError("mask and values disagree on the number of non-zero entries")
    out = np.zeros((n_rows, dim), dtype=_FLOAT)
    out[nonzero] = values
    return out


def encode_matrix(matrix: np.ndarray, name: str = "") -> dict[str, np.ndarray]:
    """Encode an ``(n, d)`` matrix in the smallest of three forms.

    Dense (``values``); its non-zero rows (``shape``, ``rows`` and their block, see
    :func:`encode_block`); or a bit mask over the whole matrix (``shape``, ``mask``, ``values``),
    which saves the row ids when almost every row has some non-zero entry. Sizes are compared
    as the parts will travel, under ``"<name>.<part>"`` keys when ``name`` is given (every key's
    length counts, and the forms have one to three keys).
    """
    matrix = np.ascontiguousarray(matrix, dtype=_FLOAT)
    shape = np.asarray(matrix.shape, dtype=np.int64)
    rows = np.flatnonzero(np.any(matrix != 0, axis=1)).astype(_INDEX)
    nonzero = matrix != 0
    candidates: list[dict[str, np.ndarray]] = [
        {VALUES: matrix},
        {SHAPE: shape, ROWS: rows, **encode_block(matrix[rows])},
        {SHAPE: shape, MASK: np.packbits(nonzero, axis=1), VALUES: matrix[nonzero]},
    ]
    prefix = f"{name}{SEP}" if name else ""
    return min(candidates, key=lambda parts: record_nbytes(parts) + len(prefix) * len(parts))


def decode_matrix(parts: dict[str, np.ndarray]) -> np.ndarray:
    """Decode :func:`encode_matrix`'s output back to the dense float32 matrix.

    Raises
    ------
    ValueError
        If row ids fall outside the matrix or the parts are inconsistent.
    """
    if SHAPE not in parts:
        return np.asarray(parts[VALUES]).astype(_FLOAT, copy=False)
    n, dim = (int(x) for x in parts[SHAPE])
    block = {k: v for k, v in parts.items() if k in (VALUES, MASK)}
    if ROWS not in parts:
        return decode_block(block, n, dim)
    rows = np.asarray(parts[ROWS]).astype(np.int64)
    if len(rows) and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"row ids outside 0..{n - 1}")
    out = np.zeros((n, dim), dtype=_FLOAT)
    out[rows] = decode_block(block, len(rows), dim)
    return out


def encode_arrays(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Encode every 2-D array with :func:`encode_matrix` under ``"<name>.<part>"`` keys.

    Other arrays travel unchanged under their own name.
    """
    out: dict[str, np.ndarray] = {}
    for name, array in arrays.items():
        if array.ndim != 2:
            out[name] = array
            continue
        parts = encode_matrix(array, name)
        out.update({f"{name}{SEP}{part}": v for part, v in parts.items()})
    return out


def decode_arrays(encoded: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Invert :func:`encode_arrays`."""
    groups: dict[str, dict[str, np.ndarray]] = {}
    out: dict[str, np.ndarray] = {}
    for key, value in encoded.items():
        name, sep, part = key.rpartition(SEP)
        if sep and part in (VALUES, MASK, ROWS, SHAPE):
            groups.setdefault(name, {})[part] = value
        else:
            out[key] = value
    out.update({name: decode_matrix(parts) for name, parts in groups.items()})
    return out


def density(matrix: np.ndarray) -> float:
    """Return the share of non-zero entries of ``matrix``."""
    return float(np.count_nonzero(matrix)) / max(matrix.size, 1)


def npy_nbytes(shape: tuple[int, ...], dtype: str) -> int:
    """Return the size of an array of ``shape`` and ``dtype`` in ``.npy`` format."""
    size = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    return _header_nbytes(shape, dtype) + size


def npy_nbytes_many(leading: np.ndarray, tail: tuple[int, ...], dtype: str) -> np.ndarray:
    """Return ``npy_nbytes((n, *tail), dtype)`` for every ``n`` in ``leading`` (int64 array)."""
    leading = np.asarray(leading, dtype=np.int64)
    # A header's length depends on the shape only through its repr: here, the digits of n.
    digits = 1 + np.searchsorted(_POWERS_OF_TEN, leading, side="right")
    headers = np.zeros(len(_POWERS_OF_TEN) + 2, dtype=np.int64)
    for k in np.unique(digits).tolist():
        headers[k] = _header_nbytes((10 ** (k - 1) if k > 1 else 0, *tail), dtype)
    row = int(np.prod(tail, dtype=np.int64)) * np.dtype(dtype).itemsize
    out: np.ndarray = headers[digits] + leading * row
    return out


_POWERS_OF_TEN = 10 ** np.arange(1, 19, dtype=np.int64)


def _header_nbytes(shape: tuple[int, ...], dtype: str) -> int:
    # The header's length depends on the shape only through the length of its repr.
    key = (len(repr(shape)), dtype)
    if key not in _HEADERS:
        buffer = io.BytesIO()
        header = {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
            "fortran_order": False,
            "shape": shape,
        }
        np.lib.format.write_array_header_1_0(buffer, header)
        _HEADERS[key] = buffer.tell()
    return _HEADERS[key]


_HEADERS: dict[tuple[int, str], int] = {}


def arrays_nbytes(arrays: dict[str, np.ndarray]) -> int:
    """Return the ``.npy`` size of ``arrays``, without the keys."""
    return sum(npy_nbytes(tuple(a.shape), a.dtype.str) for a in arrays.values())


def record_nbytes(arrays: dict[str, np.ndarray]) -> int:
    """Return what ``ArrayRecord(arrays).count_bytes()`` returns, without building it."""
    return arrays_nbytes(arrays) + sum(len(k) for k in arrays)
