import numpy as np
import pytest

from fedrec.metrics.confidence import bootstrap_interval, paired_test


def test_bootstrap_interval_covers_the_true_mean_at_about_the_nominal_rate():
    # Prepare: 300 experiments, each 400 Bernoulli(0.3) users (a per-user HR@10).
    rng = np.random.default_rng(1)
    covered = 0
    # Execute
    for trial in range(300):
        values = rng.random(400) < 0.3
        ci = bootstrap_interval(values, n_boot=400, seed=trial)
        covered += ci.low <= 0.3 <= ci.high
    # Assert: 95 % nominal; a binomial 99.9 % band for 300 trials is about ±4 points.
    assert 0.90 <= covered / 300 <= 0.99


def test_interval_brackets_the_mean_and_shrinks_with_more_users():
    rng = np.random.default_rng(0)
    few, many = rng.random(100), rng.random(10_000)
    a, b = bootstrap_interval(few), bootstrap_interval(many)
    assert a.low <= a.mean <= a.high
    assert (b.high - b.low) < (a.high - a.low) / 5


def test_paired_test_detects_a_real_difference_and_not_a_null_one():
    rng = np.random.default_rng(0)
    base = (rng.random(500) < 0.4).astype(float)
    better = np.where(rng.random(500) < 0.15, 1.0, base)
    same = base[rng.permutation(500)]
    assert paired_test(better, base).p_value < 0.01
    assert paired_test(better, base).mean_difference > 0
    assert paired_test(base, base).p_value == pytest.approx(1.0)
    assert paired_test(same, base).p_value > 0.01


def test_paired_test_rejects_mismatched_input():
    with pytest.raises(ValueError, match="per-user"):
        paired_test(np.zeros((2, 2)), np.zeros((2, 2)))
