"""The audit on real FedRAP uploads: it finds the positives, and each mitigation hides more."""

import dataclasses

import numpy as np
import pytest

from fedrec.algorithms.base import TrainOptions
from fedrec.algorithms.fedrap.node import train_node
from fedrec.algorithms.fedrap.protect import mitigate
from fedrec.audit.record import RecordedRound, load_round, save_round
from fedrec.audit.report import audit_uploads
from fedrec.config import load_config
from fedrec.config.client_dp import LeakageConfig
from fedrec.models.fedrap import initial_state
from fedrec.state.store import ClientStateStore
from tests.factories import tiny_split
from tests.privacy.test_client_level import random_updates

RECORD = TrainOptions(per_user=True, record_users=True)


def _audit(tmp_path, leakage: LeakageConfig, options: TrainOptions = RECORD) -> dict:
    split = tiny_split(n_users=30, n_items=120, min_train=5, max_train=12, seed=1)
    cfg = load_config(overrides=["fedrap.dim=8", "fedrap.local_epochs=3"])
    cfg = dataclasses.replace(cfg, leakage=leakage)
    init = initial_state(split.n_items, cfg.fedrap.dim, cfg.seed)
    users = np.arange(split.n_users)
    store = ClientStateStore(tmp_path / leakage.mitigation, users, init)
    node = train_node(split, users, store, init.item_global, cfg, 1, options)
    assert node.users is not None and node.user_ids is not None
    recorded = RecordedRound(1, init.item_global.numpy(), node.users, node.user_ids)
    return audit_uploads(load_round(save_round(tmp_path / leakage.mitigation, recorded)), split)


def test_without_mitigation_the_attack_finds_the_positives(tmp_path):
    # Execute
    report = _audit(tmp_path, LeakageConfig())
    # Assert
    assert report["users"] == 30
    assert report["membership_auc"] > 0.9
    assert report["precision10"] > 0.5


@pytest.mark.parametrize(
    "leakage",
    [
        LeakageConfig(mitigation="decoys", decoy_ratio=3.0),
        LeakageConfig(mitigation="fixed", fixed_rows=110),
    ],
)
def test_each_row_mitigation_lowers_the_attack_auc(tmp_path, leakage):
    # Prepare
    plain = _audit(tmp_path, LeakageConfig())
    # Execute
    mitigated = _audit(tmp_path, leakage)
    # Assert
    assert mitigated["membership_auc"] < plain["membership_auc"] - 0.02
    assert mitigated["rows_per_upload_mean"] > plain["rows_per_upload_mean"]


def test_dense_upload_alone_hides_little_from_the_attack(tmp_path):
    # Prepare
    plain = _audit(tmp_path, LeakageConfig())
    # Execute
    dense = _audit(tmp_path, LeakageConfig(mitigation="dense"))
    # Assert: untouched rows do not move, so the trained rows still stand out
    assert dense["membership_auc"] <= plain["membership_auc"]
    assert dense["membership_auc"] > 0.9
    assert dense["rows_per_upload_mean"] == 120


def test_local_dp_noise_brings_the_attack_down_to_chance(tmp_path):
    # Prepare: a tight bound and σ = 1 on every entry of the (now dense) upload
    options = dataclasses.replace(RECORD, dp_clip_norm=1.0, dp_noise_std=1.0)
    # Execute
    report = _audit(tmp_path, LeakageConfig(mitigation="dense"), options)
    # Assert
    assert report["membership_auc"] < 0.6
    assert report["rows_per_upload_mean"] == 120


def test_noise_on_a_public_row_subset_brings_the_attack_down_at_a_fraction_of_dense(tmp_path):
    # Prepare: the same 90 of 120 rows for every user, σ = 1 on every entry of them
    options = dataclasses.replace(RECORD, dp_clip_norm=1.0, dp_noise_std=1.0)
    leakage = LeakageConfig(mitigation="subset", subset_rows=90)
    # Execute
    bare = _audit(tmp_path, leakage)
    noisy = _audit(tmp_path / "noisy", leakage, options)
    # Assert: the rows alone say nothing, their values still do until noise hides them
    assert bare["membership_auc"] > 0.7  # positives outside the subset look untouched
    assert noisy["membership_auc"] < 0.6
    assert noisy["rows_per_upload_mean"] == 90


def test_subset_rows_are_the_same_for_every_user_and_ignore_the_data():
    # Prepare: two different sets of updates, same seed and round
    g = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    leakage = LeakageConfig(mitigation="subset", subset_rows=15)
    a, b = random_updates(4, 5, 40, 3), random_updates(9, 5, 40, 3)
    # Execute
    got_a = mitigate(a, g, np.arange(5), leakage, (0, 1))
    got_b = mitigate(b, g, np.arange(5), leakage, (0, 1))
    other_round = mitigate(a, g, np.arange(5), leakage, (0, 2))
    # Assert: one public subset; inside it, trained rows keep their value and the rest are s_u·G
    subset = got_a.rows[:15]
    assert np.all(np.diff(got_a.offsets) == 15) and len(set(subset.tolist())) == 15
    np.testing.assert_array_equal(got_a.rows, np.tile(subset, 5))
    np.testing.assert_array_equal(got_b.rows, got_a.rows)
    assert not np.array_equal(other_round.rows[:15], subset)
    expected = a.dense(g)[:, subset]
    np.testing.assert_allclose(got_a.values.reshape(5, 15, 3), expected, rtol=1e-5, atol=1e-6)


def test_dense_upload_keeps_the_model_exact():
    # Prepare
    updates = random_updates(4, 5, 40, 3)
    g = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    # Execute
    dense = mitigate(updates, g, np.arange(5), LeakageConfig(mitigation="dense"), (0, 1))
    # Assert
    assert np.all(np.diff(dense.offsets) == 40)
    np.testing.assert_allclose(dense.dense(g), updates.dense(g), rtol=1e-5, atol=1e-5)


def test_fixed_rows_gives_every_user_exactly_that_many_rows():
    # Prepare
    updates = random_updates(6, 8, 50, 2)
    g = np.zeros((50, 2), np.float32)
    # Execute
    fixed = mitigate(
        updates, g, np.arange(8), LeakageConfig(mitigation="fixed", fixed_rows=20), (0, 1)
    )
    # Assert
    assert np.all(np.diff(fixed.offsets) == 20)
    assert not fixed.bad_users()


def test_fixed_keeps_only_touched_rows_when_it_truncates():
    # Prepare
    updates = random_updates(8, 6, 50, 2)
    g = np.zeros((50, 2), np.float32)
    keep = np.diff(updates.offsets) >= 10
    # Execute
    fixed = mitigate(
        updates, g, np.arange(6), LeakageConfig(mitigation="fixed", fixed_rows=10), (0, 1)
    )
    # Assert
    for u in np.flatnonzero(keep):
        mine = set(updates.rows[updates.offsets[u] : updates.offsets[u + 1]].tolist())
        got = fixed.rows[fixed.offsets[u] : fixed.offsets[u + 1]].tolist()
        assert set(got) <= mine


def test_audit_cli_needs_recorded_rounds(tmp_path):
    from fedrec.audit import audit_run

    with pytest.raises(FileNotFoundError, match="record_round"):
        audit_run(tmp_path, tiny_split())
