"""Per-sample clipping bounds every sample's gradient, and so every user's summed update."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fedrec.algorithms.fedrap.cohort import RoundSettings
from fedrec.config.schema import FedRAPConfig
from fedrec.privacy.batches import Step
from fedrec.privacy.dp_cohort import DenseCohort, NoiseSettings, train_dense_cohort
from fedrec.privacy.grads import SampleRows, sample_gradients


def _random_cohort(gen, n_users, n_items, dim, scale):
    return DenseCohort(
        item_local=torch.randn(n_users, n_items, dim, generator=gen) * scale,
        item_global=torch.randn(n_users, n_items, dim, generator=gen) * scale,
        head_weight=torch.randn(n_users, dim, generator=gen) * scale,
        head_bias=torch.randn(n_users, generator=gen),
    )


def _random_samples(gen, n_users, n_items, n_samples):
    user = torch.randint(0, n_users, (n_samples,), generator=gen)
    item = torch.randint(0, n_items, (n_samples,), generator=gen)
    label = torch.randint(0, 2, (n_samples,), generator=gen).float()
    return user, item, label


shapes = {
    "n_users": st.integers(1, 5),
    "n_items": st.integers(1, 30),
    "dim": st.integers(1, 16),
    "n_samples": st.integers(1, 60),
    "scale": st.floats(1e-3, 30.0),
    "bound": st.floats(1e-3, 10.0),
    "regulariser": st.sampled_from(["l1", "l2"]),
    "seed": st.integers(0, 10_000),
}


@settings(max_examples=60, deadline=None)
@given(**shapes)
def test_every_clipped_sample_gradient_is_within_the_bound(
    n_users, n_items, dim, n_samples, scale, bound, regulariser, seed
):
    # Prepare
    gen = torch.Generator().manual_seed(seed)
    tables = _random_cohort(gen, n_users, n_items, dim, scale)
    user, item, label = _random_samples(gen, n_users, n_items, n_samples)
    cfg = FedRAPConfig(dim=dim, regulariser=regulariser)
    rows = SampleRows(
        tables.item_local[user, item], tables.item_global[user, item], tables.head_weight[user],
        tables.head_bias[user], label,
    )  # fmt: skip
    grads = sample_gradients(rows, cfg, lam=0.1, mu=0.1)
    # Execute
    clipped = grads.clip(bound)
    # Assert: within the bound, and samples already inside it are left (almost) alone.
    norms, after = grads.norms(), clipped.norms()
    assert bool((after <= bound * (1 + 1e-5)).all())
    inside = norms < bound
    torch.testing.assert_close(after[inside], norms[inside], rtol=2e-6 / bound + 1e-5, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(**shapes)
def test_a_users_noiseless_update_is_at_most_its_batch_size_times_the_bound(
    n_users, n_items, dim, n_samples, scale, bound, regulariser, seed
):
    # Prepare: one step, learning rate 1, no weight decay, no division by the batch size.
    gen = torch.Generator().manual_seed(seed)
    tables = _random_cohort(gen, n_users, n_items, dim, scale)
    before = [x.clone() for x in (tables.item_local, tables.item_global, tables.head_weight)]
    bias_before = tables.head_bias.clone()
    user, item, label = _random_samples(gen, n_users, n_items, n_samples)
    cfg = FedRAPConfig(dim=dim, regulariser=regulariser, weight_decay=0.0)
    step = Step(
        batch=torch.ones(n_samples, dtype=torch.bool), active=torch.ones(n_users, dtype=torch.bool)
    )
    noise = NoiseSettings(0.0, bound, torch.ones(n_users))
    settings_ = RoundSettings(lam=0.1, mu=0.1, lr_head=1.0, lr_embedding=1.0, keys=(0, 1))
    # Execute
    train_dense_cohort(tables, user, item, label, iter([step]), cfg, settings_, noise, gen)
    # Assert: ‖Δθ_u‖ ≤ (samples of u) · S over all of u's parameters.
    after = (tables.item_local, tables.item_global, tables.head_weight)
    for u in range(n_users):
        moved = sum(float(((a[u] - b[u]) ** 2).sum()) for a, b in zip(after, before, strict=True))
        moved += float((tables.head_bias[u] - bias_before[u]) ** 2)
        count = int((user == u).sum())
        assert moved**0.5 <= count * bound * (1 + 1e-4) + 1e-6
