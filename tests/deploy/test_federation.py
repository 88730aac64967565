"""End to end on 127.0.0.1: a SuperLink with TLS and SuperNode authentication, three devices.

Each device holds one user's file from a tiny generated dataset. One device is SIGKILLed after
round 1 and restarted; its state must continue. A node whose key was never registered must be
refused, and damaged state on disk must be reported naming the file.
"""

import itertools
import json
import signal
import time
from pathlib import Path

import pytest

from fedrec.config import load_config
from fedrec.deploy.certs import generate
from fedrec.deploy.export import export_users
from fedrec.deploy.recommend import recommend
from fedrec.deploy.state import MANIFEST, StateCorruptError
from fedrec.results import read_rounds
from tests.deploy.federation import BIN, CONNECTION, Federation

ROUNDS = 3


def _experiment(n_items: int, output_dir: Path) -> str:
    experiment = (
        f"{{deployment: {{enabled: true, n_items: {n_items}}}, rounds: {ROUNDS}, "
        "federation: {num_nodes: 3}, fedrap: {dim: 8, local_epochs: 2}, "
        f"data: {{eval_negatives: 10}}, eval: {{every: {ROUNDS}}}, progress: false, "
        f"output_dir: {output_dir}, run_name: edge}}"
    )
    return f"experiment='{experiment}'"


def _history(state_dir: Path) -> list[dict]:
    return json.loads((state_dir / MANIFEST).read_text())["history"]


def _wait_for(condition, timeout: float, what: str, fed: Federation) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        fed.check_alive("run")
        time.sleep(0.5)
    raise TimeoutError(f"{what} within {timeout} s")


def _rounds_done(run_dir: Path) -> int:
    path = run_dir / "metrics.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.slow
def test_secured_federation_of_devices_survives_a_restart(tmp_path):
    # Prepare: data, keys, a SuperLink with TLS + auth, three registered devices.
    users = export_users(
        load_config(overrides=["dataset=synthetic", "data.synthetic.n_users=8"]),
        tmp_path / "users",
        max_users=3,
    )
    certs = generate(tmp_path / "certs", nodes=4)
    fed = Federation(tmp_path / "fed", certs)
    states = [tmp_path / f"state-{i}" for i in range(3)]
    configs = [f"data-file='{f}' state-dir='{s}'" for f, s in zip(users.files, states, strict=True)]
    try:
        fed.start_superlink()
        for _, public in certs.node_keys[:3]:
            registered = fed.flwr("supernode", "register", str(public), CONNECTION)
            assert registered.returncode == 0, registered.stdout + registered.stderr
        for i in range(3):
            fed.start_supernode(f"node-{i}", certs.node_keys[i][0], configs[i])
        intruder_state = tmp_path / "state-intruder"
        intruder = f"data-file='{users.files[0]}' state-dir='{intruder_state}'"
        fed.start_supernode("intruder", certs.node_keys[3][0], intruder, "--max-retries", "0")
        run_dir = tmp_path / "runs" / "edge"
        run_config = _experiment(users.n_items, tmp_path / "runs")
        flwr_run = [str(BIN / "flwr"), "run", ".", CONNECTION, "--stream"]
        fed.start("run", [*flwr_run, "--run-config", run_config], home=fed.cli_home)
        # Execute: kill device 0 once round 1 is recorded, then start it again.
        _wait_for(lambda: _rounds_done(run_dir) >= 1, 150, "round 1 was not recorded", fed)
        fed.stop("node-0", signal.SIGKILL)
        before = _history(states[0])
        fed.restart_supernode("node-0", certs.node_keys[0][0], configs[0])
        assert fed.procs["run"].wait(timeout=240) == 0, fed.log("run")[-3000:]
        # Assert: the run completed and wrote its metrics.
        records = read_rounds(run_dir)
        assert [r["round"] for r in records] == [1, 2, 3]
        assert (run_dir / "summary.json").exists()
        assert 0.0 <= records[-1]["test_sampled_hr10"] <= 1.0
        # Assert: device 0 continued from its saved state (an unbroken checksum chain).
        after = _history(states[0])
        assert after[: len(before)] == before
        assert len(after) > len(before)
        assert [e["event"] for e in after].count("init") == 1
        for parent, child in itertools.pairwise(after):
            assert child["parent"] == parent["sha256"]
        assert max(e["round"] for e in after if e["event"] == "train") == ROUNDS
        # Assert: the unregistered node was refused and never hosted anyone.
        assert fed.procs["intruder"].wait(timeout=60) != 0
        assert "Failed to activate SuperNode" in fed.log("intruder")
        assert not intruder_state.exists()
        # Assert: damaged state is detected, naming the file.
        damaged = states[1] / json.loads((states[1] / MANIFEST).read_text())["file"]
        data = bytearray(damaged.read_bytes())
        data[-100] ^= 0xFF
        damaged.write_bytes(bytes(data))
        with pytest.raises(StateCorruptError, match=damaged.name):
            recommend(states[1], 10)
    finally:
        fed.close()
