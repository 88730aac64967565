"""A cohort's touched rows seen as one padded ``(U, L)`` block per user, for batched models.

Rows of ``RoundSamples`` are grouped by user; a base model scores ``(U, L, width)`` blocks, so
each row gets a (user, slot) place and empty places read a zero row and carry no loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PaddedRows:
    """Where every row of the table sits in the padded block.

    Attributes
    ----------
    index : torch.Tensor
        ``(U, L)``: the row shown at each place, ``R`` (a zero row) where the user has none.
    row_user, row_slot : torch.Tensor
        ``(R,)``: each row's place.
    """

    index: torch.Tensor
    row_user: torch.Tensor
    row_slot: torch.Tensor

    @property
    def flat(self) -> torch.Tensor:
        """Return each row's position in the flattened ``(U · L)`` block."""
        return self.row_user * self.index.shape[1] + self.row_slot

    @classmethod
    def of(cls, row_user: torch.Tensor, n_users: int) -> PaddedRows:
        """Lay out rows that are sorted by their local user."""
        counts = torch.bincount(row_user, minlength=n_users)
        starts = torch.cumsum(counts, 0) - counts
        slot = torch.arange(len(row_user)) - starts[row_user]
        width = int(counts.max()) if n_users else 0
        index = torch.full((n_users, width), len(row_user), dtype=torch.int64)
        index[row_user, slot] = torch.arange(len(row_user))
        return cls(index, row_user, slot)

    def block(self, rows: torch.Tensor) -> torch.Tensor:
        """Return ``(U, L, width)`` from ``(R, width)`` rows (differentiable)."""
        padded = torch.cat([rows, rows.new_zeros(1, rows.shape[1])])
        # index_select's backward is an index_add, several times faster than advanced indexing's
        picked = padded.index_select(0, self.index.view(-1))
        return picked.view(*self.index.shape, rows.shape[1])

    def rows(self, block: torch.Tensor) -> torch.Tensor:
        """Return the ``(R, ...)`` entries of a ``(U, L, ...)`` block."""
        return block.reshape(-1, *block.shape[2:]).index_select(0, self.flat)
