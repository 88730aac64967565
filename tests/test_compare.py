"""fedrec compare on a tiny grid: every cell runs, reports are written, finished cells are kept."""

import csv

import pytest

from fedrec.compare import Grid, annotate, markdown_table, run_grid, write_reports
from fedrec.config import ConfigError

GRID = """
name: tiny
output_dir: {out}
base: [dataset=synthetic, data.synthetic.n_users=40, data.synthetic.n_items=80,
       data.eval_negatives=30, fedrap.dim=8, fedrap.local_epochs=2, rounds=2]
seeds: [0]
settings: {{strict: [protocol=strict]}}
methods: {{fedrap: [algorithm=fedrap]}}
"""


@pytest.mark.slow
def test_tiny_grid_writes_csv_and_markdown_with_baselines_and_is_resumable(tmp_path):
    # Prepare
    path = tmp_path / "grid.yaml"
    path.write_text(GRID.format(out=tmp_path))
    grid = Grid.load(path)
    # Execute
    rows = run_grid(grid)
    csv_path, md_path = write_reports(grid, rows)
    first_mtime = (grid.output_dir / "strict--fedrap--s0" / "summary.json").stat().st_mtime
    again = run_grid(grid)
    # Assert
    assert [r["method"] for r in rows] == ["fedrap", "mostpop", "random"]
    with csv_path.open() as fh:
        table = list(csv.DictReader(fh))
    assert {r["method"] for r in table} == {"fedrap", "mostpop", "random"}
    assert {"p_vs_best", "below_mostpop", "test_hr10_ci", "test_full_ndcg10_ci"} <= set(table[0])
    assert all(0.0 <= float(r["test_hr10"]) <= 1.0 for r in table)
    text = md_path.read_text()
    assert "| strict | mostpop |" in text and "95 % bootstrap interval" in text
    assert (grid.output_dir / "strict--fedrap--s0" / "summary.json").stat().st_mtime == first_mtime
    assert again == rows


def test_markdown_marks_methods_that_do_not_beat_most_pop(tmp_path, monkeypatch):
    import fedrec.compare as compare

    grid = Grid("g", tmp_path, [], [0], {"s": []}, {"weak": [], **compare.BASELINES})
    monkeypatch.setattr(compare, "_per_user_hr", lambda *a: [1.0, 0.0, 1.0])
    rows = [
        {
            "setting": "s",
            "method": m,
            "seed": 0,
            "test_hr10": hr,
            "test_ndcg10": 0.1,
            "test_full_hr10": 0.1,
            "test_full_ndcg10": 0.1,
            "test_hr10_ci": [hr - 0.05, hr + 0.05],
            "test_ndcg10_ci": None,
            "test_full_hr10_ci": None,
            "test_full_ndcg10_ci": [0.0, 0.2],
            "round_seconds": 1.0,
            "bytes_per_round": 10.0,
        }
        for m, hr in (("weak", 0.42), ("mostpop", 0.40), ("random", 0.10))
    ]
    text = markdown_table(grid, annotate(grid, rows))
    assert "| s | weak ▽ |" in text and "| s | random ▽ |" in text
    assert "| s | mostpop |" in text
    assert "0.1000 [0.000, 0.200]" in text  # each metric carries its interval


def test_grid_with_unknown_keys_is_an_error(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("name: g\nsettingz: {}\n")
    with pytest.raises(ConfigError, match="settingz"):
        Grid.load(path)
