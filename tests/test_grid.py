"""Grid files: their keys, methods given as files, and choosing cells by name."""

import pytest

from fedrec.config import ConfigError
from fedrec.grid import Grid

GRID = Grid("g", "out", [], [0, 1, 2], {"legacy": [], "strict": []}, {"a": [], "b": []})


def test_grid_with_unknown_keys_is_an_error(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("name: g\nsettingz: {}\n")
    with pytest.raises(ConfigError, match="settingz"):
        Grid.load(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "grid file not found"),
        ("settings: {legacy: [\n", "not valid YAML"),
        ("- legacy\n- strict\n", "mapping"),
    ],
)
def test_a_missing_malformed_or_non_mapping_grid_file_is_a_config_error(tmp_path, text, message):
    # Prepare
    path = tmp_path / "g.yaml"
    if text is not None:
        path.write_text(text)
    # Execute / Assert: a clear error, not a traceback from the YAML reader
    with pytest.raises(ConfigError, match=message):
        Grid.load(path)


def test_a_method_may_be_a_yaml_file_of_keys(tmp_path, monkeypatch):
    # Prepare: a file as `fedrec tune` writes its best configuration
    monkeypatch.chdir(tmp_path)
    (tmp_path / "best.yaml").write_text("algorithm: fedmf\nfedrap:\n  lr_head: 0.25\n")
    (tmp_path / "g.yaml").write_text("methods: {tuned: [best.yaml, fedrap.dim=4]}\n")
    # Execute
    grid = Grid.load(tmp_path / "g.yaml")
    # Assert
    assert grid.methods["tuned"] == ["algorithm=fedmf", "fedrap.lr_head=0.25", "fedrap.dim=4"]


def test_select_keeps_the_named_cells_in_grid_order():
    # Execute
    cells = GRID.select(methods=["b", "a"], seeds=[2, 0])
    # Assert
    assert cells == [(s, m, seed) for s in ("legacy", "strict") for m in "ab" for seed in (0, 2)]


def test_select_without_names_is_every_cell():
    assert GRID.select() == GRID.cells()


@pytest.mark.parametrize(
    ("names", "unknown"),
    [
        ({"methods": ["a", "c"]}, "methods"),
        ({"seeds": [3]}, "seeds"),
        ({"settings": ["x"]}, "settings"),
    ],
)
def test_select_of_a_name_not_in_the_grid_is_an_error(names, unknown):
    with pytest.raises(ConfigError, match=rf"unknown {unknown} .* the grid has"):
        GRID.select(**names)
