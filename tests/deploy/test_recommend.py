import re

import pytest

from fedrec.cli import main
from fedrec.deploy.device import Device
from fedrec.deploy.recommend import recommend
from fedrec.deploy.state import load_state
from fedrec.models.fedrap import initial_state
from tests.deploy.conftest import N_ITEMS, device_config, write_user

ITEMS = [3, 8, 1, 22, 17, 30, 5, 11, 38, 26, 14]


@pytest.fixture
def trained_state(tmp_path):
    cfg = device_config()
    device = Device(write_user(tmp_path / "u.csv", ITEMS), tmp_path / "state", cfg)
    device.train(initial_state(N_ITEMS, cfg.fedrap.dim, cfg.seed).item_global, 1)
    return tmp_path / "state"


def test_recommendations_are_the_best_unseen_items(trained_state):
    # Execute
    top = recommend(trained_state, 10)
    everything = recommend(trained_state, N_ITEMS)
    # Assert
    assert [r.rank for r in top] == list(range(1, 11))
    assert not {r.item for r in everything} & set(ITEMS)
    assert len(everything) == N_ITEMS - len(ITEMS)
    scores = [r.score for r in everything]
    assert scores == sorted(scores, reverse=True)
    assert [r.item for r in top] == [r.item for r in everything[:10]]
    state = load_state(trained_state)
    assert state is not None and set(state.seen.tolist()) == set(ITEMS)


def test_cli_prints_the_table(trained_state, capsys):
    assert main(["recommend", "--state", str(trained_state), "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "rank\titem\tlabel\tscore"
    assert [line.split("\t")[0] for line in lines[1:]] == ["1", "2", "3"]
    assert all(int(line.split("\t")[1]) not in ITEMS for line in lines[1:])


def test_cli_reports_corrupted_state_naming_the_file(trained_state, capsys):
    path = next(trained_state.glob("state-*.npz"))
    path.write_bytes(path.read_bytes()[:-10])
    assert main(["recommend", "--state", str(trained_state)]) == 1
    assert re.search(re.escape(str(path)) + ": checksum mismatch", capsys.readouterr().err)


def test_cli_reports_a_folder_without_state(tmp_path, capsys):
    assert main(["recommend", "--state", str(tmp_path)]) == 1
    assert "no device state here" in capsys.readouterr().err
