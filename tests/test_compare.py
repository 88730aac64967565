"""fedrec compare on a tiny grid: every cell runs, reports and figures are written, finished cells
are kept."""

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import fedrec.cli
from fedrec.cli import main, resolve_config, simulate
from fedrec.compare import annotate, markdown_table, run_grid
from fedrec.config import ConfigError, config_to_yaml
from fedrec.grid import BASELINES, Grid
from tests.plot_checks import assert_png_with_content

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
def test_compare_command_writes_csv_table_and_figures_and_is_resumable(tmp_path, capsys):
    # Prepare
    path = tmp_path / "grid.yaml"
    path.write_text(GRID.format(out=tmp_path))
    grid = Grid.load(path)
    # Execute
    code = main(["compare", str(path)])
    first_mtime = (grid.run_dir("strict", "fedrap", 0) / "summary.json").stat().st_mtime
    again = run_grid(grid)
    # Assert
    assert code == 0
    with (grid.output_dir / "results.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert [r["method"] for r in table] == ["fedrap", "mostpop", "random"]
    assert {"p_vs_best", "below_mostpop", "test_hr10_ci", "test_full_ndcg10_ci"} <= set(table[0])
    assert all(0.0 <= float(r["test_hr10"]) <= 1.0 for r in table)
    text = (grid.output_dir / "results.md").read_text()
    assert "| strict | mostpop |" in text and "95 % bootstrap interval" in text
    for kind in ("rounds", "bytes"):
        assert_png_with_content(grid.output_dir / f"hr10_{kind}--strict.png")
    assert "hr10_rounds--strict.png" in capsys.readouterr().out
    assert (grid.run_dir("strict", "fedrap", 0) / "summary.json").stat().st_mtime == first_mtime
    assert [r["run"] for r in again] == [r["run"] for r in table]


@pytest.mark.slow
def test_cells_side_by_side_log_apart_and_match_a_run_in_this_process(tmp_path):
    # Prepare
    path = tmp_path / "grid.yaml"
    path.write_text(GRID.format(out=tmp_path / "apart"))
    grid = Grid.load(path)
    alone = resolve_config(None, [*grid.overrides("strict", "fedrap", 0), f"output_dir={tmp_path}"])
    # Execute
    rows = run_grid(grid, jobs=2)
    here = json.loads((simulate(alone) / "summary.json").read_text())
    # Assert
    assert [r["method"] for r in rows] == ["fedrap", "mostpop", "random"]
    assert rows[0]["test_hr10"] == here["test_hr10"]
    for row in rows:
        assert (grid.output_dir / f"{Path(row['run']).name}.log").is_file()


def test_jobs_below_one_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="at least one cell"):
        run_grid(_grid(tmp_path), jobs=0)


def _rows(seconds=(1.0,), bytes_=(10.0,)):
    rows = []
    for m, hr in (("weak", 0.42), ("mostpop", 0.40), ("random", 0.10)):
        for seed, (s, b) in enumerate(zip(seconds, bytes_, strict=True)):
            rows.append(
                {
                    "setting": "s",
                    "method": m,
                    "seed": seed,
                    "test_hr10": hr,
                    "test_ndcg10": 0.1,
                    "test_full_hr10": 0.1,
                    "test_full_ndcg10": 0.1,
                    "test_hr10_ci": [hr - 0.05, hr + 0.05],
                    "test_ndcg10_ci": None,
                    "test_full_hr10_ci": None,
                    "test_full_ndcg10_ci": [0.0, 0.2],
                    "round_seconds": s,
                    "bytes_per_round": b,
                }
            )
    return rows


def _grid(tmp_path, seeds=(0,)):
    return Grid("g", tmp_path, [], list(seeds), {"s": []}, {"weak": [], **BASELINES})


def test_markdown_marks_methods_that_do_not_beat_most_pop(tmp_path, monkeypatch):
    import fedrec.compare as compare

    grid = _grid(tmp_path)
    monkeypatch.setattr(compare, "_per_user_hr", lambda *a: [1.0, 0.0, 1.0])
    text = markdown_table(grid, annotate(grid, _rows()))
    assert "| s | weak ▽ |" in text and "| s | random ▽ |" in text
    assert "| s | mostpop |" in text
    assert "0.1000 [0.000, 0.200]" in text  # each metric carries its interval


def test_markdown_reports_seconds_and_bytes_as_mean_and_std_over_seeds(tmp_path, monkeypatch):
    # Prepare
    import fedrec.compare as compare

    grid = _grid(tmp_path, seeds=(0, 1))
    monkeypatch.setattr(compare, "_per_user_hr", lambda *a: [1.0, 0.0, 1.0])
    rows = _rows(seconds=(1.0, 3.0), bytes_=(1000.0, 3000.0))
    # Execute
    text = markdown_table(grid, annotate(grid, rows))
    # Assert: mean 2 and sample std √2 of both
    line = next(x for x in text.splitlines() if x.startswith("| s | weak"))
    assert "| 2.00 ± 1.41 | 2e+03 ± 1.41e+03 |" in line


def test_report_only_tabulates_the_finished_cells_of_a_partial_grid(tmp_path, monkeypatch):
    # Prepare: seed 0 of every method and seed 1 of "weak" finished; "weak" seed 2 and the
    # second setting not run.
    import fedrec.compare as compare

    grid = Grid("g", tmp_path, [], [0, 1, 2], {"s": [], "t": []}, {"weak": [], **BASELINES})
    rows = [r for r in _rows(seconds=(1.0, 3.0), bytes_=(1.0, 3.0)) if r["method"] == "weak"]
    rows += [r for r in _rows() if r["method"] != "weak"]
    for row in rows:
        run = grid.run_dir(row["setting"], row["method"], row["seed"])
        run.mkdir(parents=True)
        summary = {
            "best_round": 1,
            "round_seconds_median": row["round_seconds"],
            "upload_bytes_per_round": row["bytes_per_round"],
            "download_bytes_per_round": 0.0,
            "test_hr10": row["test_hr10"],
        }
        (run / "summary.json").write_text(json.dumps(summary))
        _save_config(grid, row["setting"], row["method"], row["seed"])
    monkeypatch.setattr(compare, "_per_user_hr", lambda *a: [1.0, 0.0, 1.0])
    # Execute
    found = run_grid(grid, report_only=True)
    text = markdown_table(grid, annotate(grid, found))
    # Assert: no run started, "weak" averages its two seeds, the empty setting is left out
    assert sorted((r["method"], r["seed"]) for r in found) == [
        ("mostpop", 0),
        ("random", 0),
        ("weak", 0),
        ("weak", 1),
    ]
    assert "| s | weak ▽ | 2 |" in text or "| s | weak | 2 |" in text
    assert "| s | mostpop | 1 |" in text and "| t |" not in text


def _save_config(grid, setting, method, seed, extra=()):
    cfg = resolve_config(None, [*grid.overrides(setting, method, seed), *extra])
    (grid.run_dir(setting, method, seed) / "config.yaml").write_text(config_to_yaml(cfg))


def _finished_cell(grid, extra=()):
    run = grid.run_dir("s", "m", 0)
    run.mkdir(parents=True)
    (run / "summary.json").write_text("{}")
    _save_config(grid, "s", "m", 0, extra)


@pytest.mark.parametrize("report_only", [False, True])
def test_a_finished_cell_run_with_other_settings_is_refused(tmp_path, monkeypatch, report_only):
    # Prepare: the cell ran with dim 8; the grid now gives the method dim 4
    calls = []
    monkeypatch.setattr(fedrec.cli, "simulate", lambda cfg: calls.append(cfg))
    grid = Grid("g", tmp_path, [], [0], {"s": []}, {"m": ["fedrap.dim=4"]})
    _finished_cell(grid, ["fedrap.dim=8"])
    # Execute / Assert: named, and nothing runs
    with pytest.raises(ConfigError, match=r"fedrap\.dim"):
        run_grid(grid, report_only=report_only)
    assert calls == []


def test_a_finished_cell_may_differ_in_bookkeeping_only(tmp_path, monkeypatch):
    # Prepare: the same cell, checkpointed differently and in a folder of another name
    import fedrec.compare as compare

    monkeypatch.setattr(compare, "_row", lambda run_dir, *cell: {"run": str(run_dir)})
    grid = Grid("g", tmp_path, [], [0], {"s": []}, {"m": ["fedrap.dim=4"]})
    _finished_cell(grid, ["fedrap.dim=4", "checkpoint_every=3", "output_dir=elsewhere"])
    # Execute
    rows = run_grid(grid, report_only=True)
    # Assert
    assert [r["run"] for r in rows] == [str(grid.run_dir("s", "m", 0))]


def test_a_finished_cell_without_its_config_is_refused(tmp_path):
    grid = Grid("g", tmp_path, [], [0], {"s": []}, {"m": []})
    grid.run_dir("s", "m", 0).mkdir(parents=True)
    (grid.run_dir("s", "m", 0) / "summary.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"no config\.yaml"):
        run_grid(grid, report_only=True)


def test_report_only_on_a_grid_with_nothing_finished_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no finished cell"):
        run_grid(_grid(tmp_path), report_only=True)


def test_an_invalid_cell_stops_the_grid_before_any_run(tmp_path, monkeypatch):
    # Prepare
    calls = []
    monkeypatch.setattr(fedrec.cli, "simulate", lambda cfg: calls.append(cfg))
    path = tmp_path / "g.yaml"
    path.write_text(
        json.dumps({"output_dir": str(tmp_path), "methods": {"ok": [], "typo": ["fedrap.lrr=1"]}})
    )
    # Execute / Assert
    with pytest.raises(ConfigError, match="lrr"):
        run_grid(Grid.load(path))
    assert calls == []


def test_cells_run_seed_by_seed_and_are_reported_method_by_method(tmp_path, monkeypatch):
    # Prepare
    import fedrec.compare as compare

    ran = []

    def fake_simulate(cfg):
        ran.append((cfg.algorithm, cfg.seed))
        run = Path(cfg.output_dir) / cfg.run_name
        run.mkdir(parents=True)
        (run / "summary.json").write_text("{}")

    monkeypatch.setattr(fedrec.cli, "simulate", fake_simulate)
    monkeypatch.setattr(compare, "_row", lambda run_dir, *cell: {"cell": cell})
    path = tmp_path / "g.yaml"
    methods = {"a": ["algorithm=fedrap"], "b": ["algorithm=fedmf"]}
    path.write_text(json.dumps({"output_dir": str(tmp_path), "seeds": [0, 1], "methods": methods}))
    # Execute
    rows = run_grid(Grid.load(path), own_ray=False)
    # Assert: every method of seed 0 (the grid's two, then its MostPop and Random references)
    # before any of seed 1; the report stays method by method.
    per_seed = ["fedrap", "fedmf", "mostpop", "random"]
    assert ran == [(a, 0) for a in per_seed] + [(a, 1) for a in per_seed]
    assert [r["cell"][1:] for r in rows][:4] == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]


def test_an_interrupted_cell_is_set_aside_and_run_again_from_scratch(tmp_path, monkeypatch):
    # Prepare: the cell's folder holds two rounds of a run stopped before its summary
    import fedrec.compare as compare

    grid = Grid("g", tmp_path, [], [0], {"s": []}, {"m": ["algorithm=fedrap"]})
    stopped = grid.run_dir("s", "m", 0)
    stopped.mkdir(parents=True)
    (stopped / "metrics.jsonl").write_text('{"round": 1}\n{"round": 2}\n')
    seen = []

    def fake_simulate(cfg):
        run = Path(cfg.output_dir) / cfg.run_name
        seen.append(run.exists())
        run.mkdir()
        (run / "summary.json").write_text("{}")

    monkeypatch.setattr(fedrec.cli, "simulate", fake_simulate)
    monkeypatch.setattr(compare, "_row", lambda run_dir, *cell: {"run": str(run_dir)})
    # Execute
    run_grid(grid, own_ray=False)
    # Assert: every cell started in a folder that did not exist; the stopped rounds are kept
    assert seen and not any(seen)
    (aside,) = tmp_path.glob("s--m--s0.interrupted-*")
    assert (aside / "metrics.jsonl").read_text().count("round") == 2


def test_a_stopped_cell_side_by_side_resumes_through_its_overrides(tmp_path, monkeypatch):
    # Prepare: a stopped cell with a checkpoint, and a cell never started
    import fedrec.compare as compare

    grid = Grid("g", tmp_path, ["dataset=synthetic"], [0, 1], {"s": []}, {"m": []})
    stopped = grid.run_dir("s", "m", 0)
    (stopped / "checkpoint").mkdir(parents=True)
    (stopped / "checkpoint" / "state.json").write_text('{"round": 2, "strategy": {}}')
    _save_config(grid, "s", "m", 0)
    jobs = []
    monkeypatch.setattr(compare, "run_side_by_side", lambda js, workers: jobs.extend(js))
    monkeypatch.setattr(compare, "_row", lambda run_dir, *cell: {})
    # Execute
    run_grid(grid, jobs=2)
    # Assert: `fedrec run` gets the folder to resume; the other cell starts afresh
    resumed = {job.name: resolve_config(None, job.overrides).resume for job in jobs}
    assert resumed["s--m--s0"] == str(stopped)
    assert resumed["s--m--s1"] == ""


def _fake_simulate(ran):
    def fake_simulate(cfg):
        ran.append((cfg.algorithm, cfg.seed))
        run = Path(cfg.output_dir) / cfg.run_name
        run.mkdir(parents=True)
        (run / "config.yaml").write_text(config_to_yaml(cfg))
        (run / "summary.json").write_text("{}")

    return fake_simulate


def test_only_the_chosen_cells_run_and_every_finished_cell_is_reported(tmp_path, monkeypatch):
    # Prepare: seed 0 of "a" already finished
    import fedrec.compare as compare

    ran = []
    monkeypatch.setattr(fedrec.cli, "simulate", _fake_simulate(ran))
    monkeypatch.setattr(compare, "_row", lambda run_dir, *cell: {"cell": cell})
    methods = {"a": ["algorithm=fedrap"], "b": ["algorithm=fedmf"]}
    grid = Grid("g", tmp_path, ["dataset=synthetic"], [0, 1], {"s": []}, methods)
    run_grid(grid, own_ray=False, only=grid.select(methods=["a"], seeds=[0]))
    ran.clear()
    # Execute
    rows = run_grid(grid, own_ray=False, only=grid.select(methods=["b", "a"], seeds=[1]))
    # Assert
    assert ran == [("fedrap", 1), ("fedmf", 1)]
    assert [r["cell"] for r in rows] == [("s", "a", 0), ("s", "a", 1), ("s", "b", 1)]


def test_compare_command_runs_the_named_methods_and_seeds(tmp_path, monkeypatch, capsys):
    # Prepare
    import fedrec.compare as compare

    ran = []
    monkeypatch.setattr(fedrec.cli, "simulate", _fake_simulate(ran))
    monkeypatch.setattr(compare, "_row", lambda run_dir, *cell: {"cell": cell})
    (tmp_path / "results.md").write_text("table")
    reports = SimpleNamespace(markdown=tmp_path / "results.md", csv=tmp_path, figures=[])
    monkeypatch.setattr(compare, "write_reports", lambda grid, rows: reports)
    path = tmp_path / "g.yaml"
    methods = {"a": ["algorithm=fedrap"], "b": ["algorithm=fedmf"]}
    path.write_text(json.dumps({"output_dir": str(tmp_path), "seeds": [0, 1], "methods": methods}))
    # Execute
    code = main(["compare", str(path), "--methods", "b,mostpop", "--seeds", "1", "--ray-per-cell"])
    unknown = main(["compare", str(path), "--methods", "c"])
    # Assert
    assert code == 0 and ran == [("fedmf", 1), ("mostpop", 1)]
    assert unknown == 2 and "unknown methods ['c']" in capsys.readouterr().err


def test_a_cell_another_process_runs_is_skipped_and_left_as_it_is(tmp_path, monkeypatch):
    # Prepare: seed 0 is running elsewhere; seed 1 is to run
    import fedrec.compare as compare
    from fedrec.run_lock import hold_run_folder

    ran = []
    monkeypatch.setattr(fedrec.cli, "simulate", _fake_simulate(ran))
    monkeypatch.setattr(compare, "_row", lambda run_dir, *cell: {"cell": cell})
    grid = Grid("g", tmp_path, ["dataset=synthetic"], [0, 1], {"s": []}, {"m": []})
    busy = grid.run_dir("s", "m", 0)
    with hold_run_folder(busy):
        (busy / "metrics.jsonl").write_text('{"round": 1}\n')
        # Execute
        rows = run_grid(grid, own_ray=False)
    # Assert
    assert ran == [("fedrap", 1)] and [r["cell"] for r in rows] == [("s", "m", 1)]
    assert (busy / "metrics.jsonl").exists() and not list(tmp_path.glob("*.interrupted-*"))


def test_compare_status_lists_the_cells_and_runs_nothing(tmp_path, monkeypatch, capsys):
    # Prepare: seed 0 finished
    ran = []
    monkeypatch.setattr(fedrec.cli, "simulate", _fake_simulate(ran))
    path = tmp_path / "g.yaml"
    methods = {"a": ["algorithm=fedrap"]}
    path.write_text(json.dumps({"output_dir": str(tmp_path), "seeds": [0, 1], "methods": methods}))
    finished = tmp_path / "g" / "default--a--s0"
    finished.mkdir(parents=True)
    (finished / "summary.json").write_text('{"wall_seconds": 60}')
    cfg = resolve_config(None, Grid.load(path).overrides("default", "a", 0))
    (finished / "config.yaml").write_text(config_to_yaml(cfg))
    # Execute
    code = main(["compare", str(path), "--status", "--methods", "a"])
    main(["compare", str(path), "--status", "--methods", "a", "--seeds", "1"])
    with pytest.raises(SystemExit):
        main(["compare", str(path), "--status", "--report-only"])
    # Assert
    out = capsys.readouterr()
    assert code == 0 and ran == []
    assert "2 cells: 1 finished, 0 stale, 0 running, 0 resumes, 0 reruns, 1 to run" in out.out
    assert "default--a--s1  to run" in out.out
    # --seeds 1 shows its one unrun cell, estimated from the finished seed 0 outside the selection
    assert "1 cells: 0 finished" in out.out and "for the 1 whose method" in out.out
    assert "not allowed with argument" in out.err
