"""A round's per-user sparse updates of one global matrix, and their wire form.

After local training a user's copy of the global matrix ``G`` (FedRAP's C) is
``C_u = s_u · G`` on the rows it did not touch (plain SGD weight decay shrinks every row by
``1 − lr·wd`` per step, so the untouched rows change only by the product ``s_u`` of those
factors) and arbitrary values on the rows it touched. A user therefore uploads exactly its
touched rows' values and the one scalar ``s_u``; the server rebuilds ``C_u`` from ``G`` without
loss. The wire form is ragged: ``offsets`` (``U + 1``), ``rows`` (item ids, grouped by user),
``scales``, ``weights`` and the stacked values as one
:func:`~fedrec.aggregation.codec.encode_block`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedrec.aggregation.codec import (
    MASK,
    VALUES,
    decode_block,
    encode_block,
    npy_nbytes,
    npy_nbytes_many,
)

OFFSETS, ROWS, SCALES, WEIGHTS = "offsets", "rows", "scales", "weights"
#: Keys of one user's own upload message: its rows, its scale and its values block.
_USER_KEYS = (ROWS, "scale")


@dataclass(frozen=True)
class UserUpdates:
    """Per-user sparse updates of a ``(n_items, dim)`` matrix ``G``.

    Attributes
    ----------
    offsets : np.ndarray
        ``(U + 1,)`` int64: user ``u`` owns entries ``offsets[u]:offsets[u + 1]``.
    rows : np.ndarray
        ``(R,)`` int64 item ids, grouped by user, distinct within a user.
    values : np.ndarray
        ``(R, dim)`` float32: the user's local matrix on those rows.
    scales : np.ndarray
        ``(U,)`` float64: factor on the rows the user did not touch.
    weights : np.ndarray
        ``(U,)`` float64 aggregation weights (1 or the number of training examples).
    """

    offsets: np.ndarray
    rows: np.ndarray
    values: np.ndarray
    scales: np.ndarray
    weights: np.ndarray

    @property
    def n_users(self) -> int:
        """Return the number of users."""
        return len(self.scales)

    def owners(self) -> np.ndarray:
        """Return the user index of every row entry, shape ``(R,)``."""
        return np.repeat(np.arange(self.n_users), np.diff(self.offsets))

    def select(self, keep: np.ndarray) -> UserUpdates:
        """Return the updates of the users where ``keep`` (boolean, ``(U,)``) is true."""
        counts = np.diff(self.offsets)[keep]
        entries = keep[self.owners()]
        return UserUpdates(
            offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            rows=self.rows[entries],
            values=self.values[entries],
            scales=self.scales[keep],
            weights=self.weights[keep],
        )

    @staticmethod
    def concat(parts: list[UserUpdates], dim: int) -> UserUpdates:
        """Stack several nodes' updates into one (users in the order given)."""
        counts = [np.diff(p.offsets) for p in parts]
        flat = np.concatenate(counts) if counts else np.zeros(0, np.int64)
        return UserUpdates(
            offsets=np.concatenate([[0], np.cumsum(flat)]).astype(np.int64),
            rows=np.concatenate([p.rows for p in parts]) if parts else np.zeros(0, np.int64),
            values=np.concatenate([p.values for p in parts])
            if parts
            else np.zeros((0, dim), np.float32),
            scales=np.concatenate([p.scales for p in parts]) if parts else np.zeros(0),
            weights=np.concatenate([p.weights for p in parts]) if parts else np.zeros(0),
        )

    def dense(self, item_global: np.ndarray) -> np.ndarray:
        """Return every user's full local matrix, ``(U, n_items, dim)`` (tests, small cases)."""
        out = self.scales[:, None, None] * item_global[None].astype(np.float64)
        out[self.owners(), self.rows] = self.values
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Return the ragged wire form (see the module docstring)."""
        return {
            OFFSETS: self.offsets.astype(np.int64),
            ROWS: self.rows.astype(np.int32),
            SCALES: self.scales.astype(np.float32),
            WEIGHTS: self.weights.astype(np.float32),
            **encode_block(self.values),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_items: int, dim: int) -> UserUpdates:
        """Decode and check the ragged wire form.

        Raises
        ------
        ValueError
            If the parts are inconsistent with each other or with ``(n_items, dim)``.
        """
        missing = {OFFSETS, ROWS, SCALES, WEIGHTS, VALUES} - set(arrays)
        if missing:
            raise ValueError(f"missing parts {sorted(missing)}")
        offsets = np.asarray(arrays[OFFSETS]).astype(np.int64)
        rows = np.asarray(arrays[ROWS]).astype(np.int64)
        scales = np.asarray(arrays[SCALES]).astype(np.float64)
        weights = np.asarray(arrays[WEIGHTS]).astype(np.float64)
        if offsets.ndim != 1 or len(offsets) != len(scales) + 1 or len(weights) != len(scales):
            raise ValueError("offsets, scales and weights disagree on the number of users")
        if offsets[0] != 0 or np.any(np.diff(offsets) < 0) or offsets[-1] != len(rows):
            raise ValueError("offsets are not a partition of the rows")
        if len(rows) and (rows.min() < 0 or rows.max() >= n_items):
            raise ValueError(f"row ids outside 0..{n_items - 1}")
        block = {k: v for k, v in arrays.items() if k in (VALUES, MASK)}
        return cls(offsets, rows, decode_block(block, len(rows), dim), scales, weights)

    def bad_users(self) -> dict[int, str]:
        """Return the users whose update cannot be used, with the reason (NaN/Inf, weight)."""
        finite_rows = np.isfinite(self.values).all(axis=1)
        finite = np.ones(self.n_users, bool)
        np.logical_and.at(finite, self.owners(), finite_rows)
        problems: dict[int, str] = {}
        for u in np.flatnonzero(~finite | ~np.isfinite(self.scales)):
            problems[int(u)] = "non-finite values"
        for u in np.flatnonzero(~np.isfinite(self.weights) | (self.weights < 0)):
            problems.setdefault(int(u), "non-finite or negative weight")
        duplicated = _users_with_duplicate_rows(self)
        for u in duplicated:
            problems.setdefault(int(u), "a row listed twice")
        return problems

    def upload_nbytes(self) -> np.ndarray:
        """Return, per user, the serialised size of the upload message that user would send.

        The message is an ``ArrayRecord`` with the user's row ids (int32), its scale (one
        float32) and its values block in the smaller of the two block encodings; its weight
        travels in the reply's metrics, as Flower's ``num-examples`` does.
        """
        counts = np.diff(self.offsets)
        nnz_rows = np.count_nonzero(self.values, axis=1)
        nnz = np.add.reduceat(nnz_rows, self.offsets[:-1]) if len(nnz_rows) else nnz_rows
        nnz = np.where(counts > 0, nnz, 0)
        dim = self.values.shape[1]
        dense = npy_nbytes_many(counts, (dim,), "<f4") + len(VALUES)
        masked = npy_nbytes_many(counts, ((dim + 7) // 8,), "|u1") + npy_nbytes_many(nnz, (), "<f4")
        masked += len(VALUES) + len(MASK)
        rows_and_scale = npy_nbytes_many(counts, (), "<i4") + npy_nbytes((1,), "<f4")
        keys = sum(len(k) for k in _USER_KEYS)
        out: np.ndarray = keys + rows_and_scale + np.minimum(dense, masked)
        return out


def _users_with_duplicate_rows(updates: UserUpdates) -> np.ndarray:
    key = updates.owners() * (int(updates.rows.max(initial=0)) + 1) + updates.rows
    unique, counts = np.unique(key, return_counts=True)
    return np.unique(unique[counts > 1] // (int(updates.rows.max(initial=0)) + 1))
