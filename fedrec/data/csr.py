"""Two CSR helpers used wherever per-user lists are flattened."""

from __future__ import annotations

import numpy as np

from fedrec.data.types import IntArray


def offsets(counts: IntArray) -> IntArray:
    """Return CSR offsets (length ``len(counts) + 1``) for per-row ``counts``."""
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def concat_ranges(starts: IntArray, counts: IntArray) -> IntArray:
    """Concatenate ``arange(s, s + c)`` for every pair (s, c) without a Python loop."""
    total = int(np.sum(counts))
    shift = np.repeat(np.asarray(starts) - offsets(counts)[:-1], counts)
    return np.arange(total, dtype=np.int64) + shift
