"""FedRAP's initial state: the reference draw, and D's scaled start."""

import torch

from fedrec.models.fedrap import initial_state


def test_local_init_std_scales_only_d_and_zero_starts_d_at_zero():
    # Prepare / Execute
    reference = initial_state(n_items=7, dim=4, seed=5)
    small = initial_state(n_items=7, dim=4, seed=5, local_std=0.1)
    zero = initial_state(n_items=7, dim=4, seed=5, local_std=0.0)
    # Assert: C and the head are the same draw; D is the same draw scaled.
    torch.testing.assert_close(small.item_global, reference.item_global)
    torch.testing.assert_close(small.head_weight, reference.head_weight)
    torch.testing.assert_close(small.item_local, 0.1 * reference.item_local)
    assert not zero.item_local.any() and reference.item_local.std() > 0.5
