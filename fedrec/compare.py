"""``fedrec compare <grid.yaml>``: run a grid of experiments and tabulate them honestly.

The grid (:mod:`fedrec.grid`) is settings × methods × seeds. Finished cells are not rerun; a
stopped one continues from its checkpoint (:mod:`fedrec.cells`). Reports: ``results.csv``,
``results.md`` and PNG figures (:mod:`fedrec.plots`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fedrec.cells import cell_statuses, plan_runs, refuse_stale
from fedrec.config import ConfigError, ExperimentConfig
from fedrec.grid import Cell, Grid
from fedrec.metrics.confidence import paired_test
from fedrec.plots import write_plots
from fedrec.results import selected_hits
from fedrec.runs import RunJob, run_one_by_one, run_side_by_side

#: Reported metrics, and the key of their interval in ``summary.json``'s ``intervals_95``.
METRICS = {
    "test_hr10": "test_sampled_hr10",
    "test_ndcg10": "test_sampled_ndcg10",
    "test_full_hr10": "test_full_hr10",
    "test_full_ndcg10": "test_full_ndcg10",
}


def run_grid(
    grid: Grid,
    report_only: bool = False,
    jobs: int = 1,
    own_ray: bool = True,
    only: Collection[Cell] | None = None,
) -> list[dict[str, Any]]:
    """Run every unfinished cell (of ``only``, if given), then return one row per finished cell.

    Every cell's config is resolved, and every finished cell checked against it
    (:func:`~fedrec.cells.refuse_stale`), before the first one runs, so a typo in the last method
    is an error at once, not after hours. Cells run seed by seed (every method of seed 0
    first), so a grid stopped part-way has complete tables for its first seeds. ``jobs`` 1 runs
    the cells one after another in this process; more runs that many side by side as ``fedrec
    run`` processes, each logging to ``<cell>.log`` in the grid's folder (:mod:`fedrec.runs`).
    With ``own_ray``, cells run in this process share one Ray cluster of the grid's own
    (:mod:`fedrec.cluster`) instead of starting Ray each; cells side by side never share one,
    as each would wait for the nodes of the other.
    ``report_only`` runs nothing. A partial grid is reported over its finished cells (the
    report's ``seeds`` column says how many each method has).
    """
    from fedrec.cli import resolve_config

    if jobs < 1:
        raise ConfigError(f"jobs: at least one cell runs at a time, got {jobs}")
    configs = {cell: resolve_config(None, grid.overrides(*cell)) for cell in grid.cells()}
    statuses = cell_statuses(grid, configs)
    refuse_stale(grid, statuses)
    if report_only:
        if not any(status.state == "finished" for status in statuses.values()):
            raise ConfigError(f"grid '{grid.name}': no finished cell in {grid.output_dir}")
        return _finished_rows(grid)
    chosen = grid.cells() if only is None else only
    # Seed by seed: a grid stopped part-way leaves whole tables of its first seeds.
    in_order = sorted(chosen, key=lambda cell: cell[2])
    todo = plan_runs(grid, {cell: statuses[cell] for cell in in_order}, configs)
    if jobs > 1:
        run_side_by_side([_job(grid, cell, cfg) for cell, cfg in todo.items()], jobs)
    else:
        head_log = grid.output_dir / "ray-head.log" if own_ray else None
        run_one_by_one(list(todo.values()), head_log)
    return _finished_rows(grid)


def _finished_rows(grid: Grid) -> list[dict[str, Any]]:
    done = [cell for cell in grid.cells() if (grid.run_dir(*cell) / "summary.json").exists()]
    return [_row(grid.run_dir(*cell), *cell) for cell in done]


def _job(grid: Grid, cell: Cell, cfg: ExperimentConfig) -> RunJob:
    name = grid.run_dir(*cell).name
    resume = [f"resume={cfg.resume}"] if cfg.resume else []
    return RunJob(name, (*grid.overrides(*cell), *resume), grid.output_dir / f"{name}.log")


def present_methods(grid: Grid, rows: list[dict[str, Any]], setting: str) -> list[str]:
    """Return the grid's methods that have at least one row in ``setting``, in grid order."""
    have = {r["method"] for r in rows if r["setting"] == setting}
    return [m for m in grid.methods if m in have]


def _row(run_dir: Path, setting: str, method: str, seed: int) -> dict[str, Any]:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    row: dict[str, Any] = {"setting": setting, "method": method, "seed": seed, "run": str(run_dir)}
    intervals = summary.get("intervals_95", {})
    for metric, interval in METRICS.items():
        row[metric] = summary.get(metric)
        row[f"{metric}_ci"] = intervals.get(interval)
    row["best_round"] = summary["best_round"]
    row["round_seconds"] = summary["round_seconds_median"]
    row["bytes_per_round"] = summary["upload_bytes_per_round"] + summary["download_bytes_per_round"]
    row["dense_bytes_per_round"] = summary.get("dense_bytes_per_round")
    row["density"] = summary.get("density_selected", summary.get("density_final"))
    row["target_exposure10"] = summary.get("target_exposure10")
    return row


def annotate(grid: Grid, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add to every row its setting's paired test against the best method and the MostPop mark.

    ``p_vs_best``: sign-flip test of per-user test HR@10 (first seed) against the method with the
    best mean; ``below_mostpop``: the method's mean HR@10 does not exceed MostPop's upper 95 %
    interval bound. Returns annotated copies; ``rows`` are left as they are.
    """
    rows = [dict(row) for row in rows]
    for setting in grid.settings:
        mine = [r for r in rows if r["setting"] == setting]
        methods = present_methods(grid, rows, setting)
        if not methods:
            continue
        means = {
            m: float(np.mean([r["test_hr10"] for r in mine if r["method"] == m])) for m in methods
        }
        best = max(means, key=lambda m: means[m])
        pop = next((r for r in mine if r["method"] == "mostpop"), {})
        pop_high = (pop.get("test_hr10_ci") or [0, 0])[1]
        first = {m: min(r["seed"] for r in mine if r["method"] == m) for m in methods}
        best_hr = _per_user_hr(grid, setting, best, first[best])
        for method in methods:
            other = _per_user_hr(grid, setting, method, first[method])
            p = None if method == best else paired_test(best_hr, other).p_value
            for row in (r for r in mine if r["method"] == method):
                row["p_vs_best"] = p
                row["below_mostpop"] = method != "mostpop" and means[method] <= pop_high
    return rows


@dataclass(frozen=True)
class Reports:
    """The files :func:`write_reports` wrote."""

    csv: Path
    markdown: Path
    figures: list[Path]


def write_reports(grid: Grid, rows: list[dict[str, Any]]) -> Reports:
    """Write ``results.csv``, ``results.md`` and the PNG figures into the grid's folder."""
    grid.output_dir.mkdir(parents=True, exist_ok=True)
    rows = annotate(grid, rows)
    csv_path, md_path = grid.output_dir / "results.csv", grid.output_dir / "results.md"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    md_path.write_text(markdown_table(grid, rows), encoding="utf-8")
    methods = [m for m in grid.methods if any(r["method"] == m for r in rows)]
    figures = write_plots(grid.output_dir, list(grid.settings), methods, rows)
    return Reports(csv_path, md_path, figures)


def markdown_table(grid: Grid, rows: list[dict[str, Any]]) -> str:
    """Return the Markdown report of annotated rows (see :func:`annotate`)."""
    lines = [
        f"# {grid.name}",
        "",
        "Test metrics at the round with the best validation HR@10; sampled = against 99 "
        "never-interacted items, full = against every unseen item. Each metric: mean (± std over "
        "seeds) and its 95 % bootstrap interval over users (first seed). p: paired sign-flip test "
        "of per-user HR@10 "
        "against the best method of the setting (first seed). ▽ marks a method whose HR@10 does "
        "not beat MostPop's upper interval bound. vs dense: bytes per round (up + down, each "
        "client's own messages) against every participant downloading and uploading dense C. "
        "density: share of non-zero entries of C after the last round. target exposure: share of "
        "real users with an attack's target item in their top 10 (at the selected round). "
        "s/round (median training phase of a run) and bytes/round: mean (± std over seeds).",
        "",
        "| setting | method | seeds | HR@10 | NDCG@10 | full HR@10 | full NDCG@10 | p vs best "
        "| s/round | bytes/round | vs dense | density of C | target exposure@10 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for setting in grid.settings:
        for method in present_methods(grid, rows, setting):
            rs = [r for r in rows if r["setting"] == setting and r["method"] == method]
            lines.append(_line(rs))
    return "\n".join(lines) + "\n"


def _line(rs: list[dict[str, Any]]) -> str:
    first = rs[0]
    p = first["p_vs_best"]
    cells = [
        first["setting"],
        first["method"] + (" ▽" if first["below_mostpop"] else ""),
        str(len(rs)),
        *(_with_interval(rs, metric) for metric in METRICS),
        "–" if p is None else f"{p:.3g}",
        _mean_std(rs, "round_seconds", ".2f"),
        _mean_std(rs, "bytes_per_round", ".3g"),
        _ratio(first.get("dense_bytes_per_round"), first["bytes_per_round"]),
        _optional(first.get("density"), ".3f"),
        _optional(first.get("target_exposure10"), ".4f"),
    ]
    return "| " + " | ".join(cells) + " |"


def _ratio(dense: float | None, actual: float) -> str:
    """How many times fewer bytes than dense C both ways (``–`` when unknown)."""
    return f"{dense / actual:.1f}×" if dense and actual else "–"


def _optional(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def _with_interval(rows: list[dict[str, Any]], key: str) -> str:
    ci = rows[0][f"{key}_ci"] or [float("nan")] * 2
    return f"{_mean_std(rows, key)} [{ci[0]:.3f}, {ci[1]:.3f}]"


def _mean_std(rows: list[dict[str, Any]], key: str, spec: str = ".4f") -> str:
    values = np.array([r[key] for r in rows], dtype=np.float64)
    spread = f" ± {values.std(ddof=1):{spec}}" if len(values) > 1 else ""
    return f"{values.mean():{spec}}{spread}"


def _per_user_hr(grid: Grid, setting: str, method: str, seed: int) -> np.ndarray:
    return selected_hits(grid.run_dir(setting, method, seed))
