"""The padded (U, L) view of a cohort's row table is a faithful, invertible layout."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fedrec.algorithms.additive.padding import PaddedRows


@settings(deadline=None)
@given(counts=st.lists(st.integers(0, 6), min_size=1, max_size=8), width=st.integers(1, 4))
def test_block_then_rows_is_the_identity_and_padding_is_zero(counts, width):
    # Prepare: rows grouped by user, as build_round_samples lays them out
    row_user = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    rows = torch.randn(len(row_user), width)
    padded = PaddedRows.of(row_user, len(counts))
    # Execute
    block = padded.block(rows)
    # Assert
    assert block.shape == (len(counts), max(counts), width)
    torch.testing.assert_close(padded.rows(block), rows)
    for u, count in enumerate(counts):
        assert torch.all(block[u, count:] == 0)


@settings(deadline=None)
@given(counts=st.lists(st.integers(1, 5), min_size=1, max_size=6))
def test_gradients_flow_back_to_each_row_once(counts):
    # Prepare
    row_user = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    rows = torch.randn(len(row_user), 3, requires_grad=True)
    padded = PaddedRows.of(row_user, len(counts))
    # Execute
    padded.rows(padded.block(rows)).sum().backward()
    # Assert
    torch.testing.assert_close(rows.grad, torch.ones_like(rows))
