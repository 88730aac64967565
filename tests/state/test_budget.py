import dataclasses

from fedrec.config import load_config
from fedrec.state import budget
from tests.factories import tiny_split


def test_store_goes_to_ram_only_within_its_budget(tmp_path, monkeypatch):
    # Prepare: a fake tmpfs root so the test neither needs nor fills /dev/shm.
    ram = tmp_path / "shm"
    ram.mkdir()
    monkeypatch.setattr(budget, "RAM_ROOT", ram)
    size = budget.store_bytes(n_users=100, n_items=50, width=8, private_floats=9)
    # Execute
    fits = budget.place_store(tmp_path / "run", "r1", size, budget_mb=1)
    too_big = budget.place_store(tmp_path / "run", "r1", size, budget_mb=0)
    # Assert
    assert size == 100 * (50 * 8 * 4 + 8 + 8 * 4 + 4 + 1)
    assert fits.in_ram and fits.path.parent == ram
    assert not too_big.in_ram and too_big.path == tmp_path / "run" / "client_state"


def test_store_size_follows_the_base_model_and_the_precision():
    # Prepare
    affine = load_config(overrides=["fedrap.dim=8"])
    neumf = load_config(overrides=["fedrap.dim=8", "model.name=neumf"])
    half = load_config(overrides=["fedrap.dim=8", "federation.state_precision=float16"])
    # Execute
    sizes = [budget.model_store_bytes(cfg, 10, 50) for cfg in (affine, neumf, half)]
    # Assert: NeuMF reads GMF and MLP item rows (twice the width) and keeps a private tower
    assert sizes[0] == 10 * (50 * 8 * 4 + 8 + 9 * 4 + 1)
    assert sizes[1] > 2 * sizes[0] - 10 * 9 * 4
    assert sizes[2] == 10 * (50 * 8 * 2 + 8 + 9 * 4 + 1)


def test_auto_cohort_size_shrinks_with_the_budget_and_an_explicit_size_wins():
    split = tiny_split(n_users=50, n_items=400)
    cfg = load_config(overrides=["federation.cohort_memory_mb=1"])
    small = budget.cohort_size(split, cfg)
    big = budget.cohort_size(
        split,
        dataclasses.replace(
            cfg, federation=dataclasses.replace(cfg.federation, cohort_memory_mb=8)
        ),
    )
    fixed = load_config(overrides=["federation.cohort_size=7"])
    # Evaluation dominates here: per user a dense D (400 × 32 floats, twice) plus scores.
    per_user = 400 * (2 * 32 * 4 + 16)
    assert small == 2**20 // per_user
    assert big == 8 * 2**20 // per_user
    assert budget.cohort_size(split, fixed) == 7
