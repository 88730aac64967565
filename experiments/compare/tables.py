"""Print a grid's compact README table per setting, with how long its cells ran.

``fedrec compare`` writes the full report (``results.md``: intervals, paired tests, bytes); this
prints the columns the README shows (HR@10 with each seed's value), each seed's rounds run,
selected round and wall time, and the summed wall time of the setting's finished cells. Usage::

    python experiments/compare/tables.py experiments/compare/ml100k_algorithms.yaml
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from fedrec.grid import Grid


def _mean_std(values: list[float], each: bool = False) -> str:
    """Mean ± std over seeds; with ``each``, then every seed's value, as the README's rows."""
    if len(values) == 1:
        return f"{values[0]:.4f}"
    seeds = " (" + ", ".join(f"{v:.4f}" for v in values) + ")" if each else ""
    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}{seeds}"


def _summaries(grid: Grid, setting: str, method: str) -> list[dict[str, Any]]:
    found = []
    for seed in grid.seeds:
        path = grid.run_dir(setting, method, seed) / "summary.json"
        if path.exists():
            found.append(json.loads(path.read_text(encoding="utf-8")))
    return found


def setting_table(grid: Grid, setting: str) -> tuple[list[str], float]:
    """Return the setting's Markdown lines and the summed wall seconds of its finished cells."""
    lines = [
        "| method | seeds | test HR@10 | test NDCG@10 | full-ranking HR@10 | rounds run (selected) "
        "| minutes (each seed) |",
        "|---|---|---|---|---|---|---|",
    ]
    total = 0.0
    for method in grid.methods:
        runs = _summaries(grid, setting, method)
        if not runs:
            continue
        walls = [float(s["wall_seconds"]) for s in runs]
        total += sum(walls)
        rounds = ", ".join(f"{s['rounds']} ({s['best_round']})" for s in runs)
        cells = [
            f"`{method}`",
            str(len(runs)),
            _mean_std([s["test_hr10"] for s in runs], each=True),
            _mean_std([s["test_ndcg10"] for s in runs]),
            _mean_std([s["test_full_hr10"] for s in runs]),
            rounds,
            ", ".join(f"{wall / 60:.1f}" for wall in walls),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines, total


def main(path: Path) -> None:
    """Print every setting's table of the grid in ``path``."""
    grid = Grid.load(path)
    for setting in grid.settings:
        lines, total = setting_table(grid, setting)
        if len(lines) == 2:
            continue
        print(f"\n### {grid.name}: {setting} (cells' summed wall time {total / 60:.1f} min)\n")
        print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
