"""The same simulation runs on an existing Ray cluster when given its address."""

import pytest

from fedrec.cli import resolve_config, simulate
from fedrec.cluster import own_cluster
from tests.factories import tiny_synthetic

TINY = tiny_synthetic(30, 60, "rounds=2")


@pytest.mark.slow
def test_two_rounds_on_a_local_ray_head(tmp_path):
    # Prepare
    overrides = [*TINY, f"output_dir={tmp_path}"]
    with own_cluster(tmp_path / "head.log") as address:
        # Execute: the address given in the config
        run = simulate(resolve_config(None, [*overrides, f"federation.ray_address={address}"]))
    # Assert
    assert (run / "summary.json").exists()
