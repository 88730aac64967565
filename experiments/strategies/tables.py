"""Print the sparse-C and strategies tables of the README and draw their figures.

Run after ``fedrec compare`` on the grids of ``experiments/sparsity/`` and on
``experiments/strategies/ml100k.yaml``. Usage:
``python experiments/strategies/tables.py [runs/compare] [figure folder]``; figures go to
``docs/figures`` by default. Cells without a ``summary.json`` are left out and named.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

from fedrec.metrics.confidence import paired_test
from fedrec.results import read_rounds, selected_hits

matplotlib.use("Agg")
import matplotlib.pyplot as plt

#: Sparse-C grids, each with its figure's file name and title.
SPARSITY_GRIDS: dict[str, tuple[str, str]] = {
    "sparsity-d0slow-ml100k": (
        "sparsity_ml100k.png",
        "Sparse C on ML-100K (strict): FedRAP, D from zero (no-d: without D)",
    ),
    "sparsity-no-d-opt-ml100k": (
        "sparsity_no_d_opt_ml100k.png",
        "Sparse C on ML-100K: strict, FedRAP without D, PFedRec's optimiser; legacy, reference",
    ),
    "sparsity-no-d-opt-long-ml100k": (
        "sparsity_no_d_opt_long_ml100k.png",
        "Sparse C on ML-100K (strict), up to 300 rounds: FedRAP without D, PFedRec's optimiser",
    ),
    "sparsity-no-d-opt-wide-ml100k": (
        "sparsity_no_d_opt_wide_ml100k.png",
        "C of width 64 and 128, dense or 10 %, ML-100K (strict), no D",
    ),
}
#: Grids whose cells differ in the width of C: plotted against absolute bytes, not savings.
ABSOLUTE_BYTES = {"sparsity-no-d-opt-wide-ml100k"}
STRATEGIES_GRID = "strategies-ml100k"
BASELINES = ("mostpop", "random")


def cells(grid: Path) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Return (setting, method) → the summaries of its finished seeds, baselines left out."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for run in sorted(grid.glob("*--*--s*")):
        setting, method, _ = run.name.split("--")
        path = run / "summary.json"
        if "." in run.name or method in BASELINES:
            continue
        if not path.exists():
            print(f"unfinished, left out: {run}", file=sys.stderr)
            continue
        summary = json.loads(path.read_text(encoding="utf-8"))
        seed = run.name.rsplit("--", 1)[1]
        found[(setting, method)].append(
            {
                **summary,
                "seed_name": seed,
                "mb": _mb_to_best(run, summary),
                "hits": selected_hits(run),
            }
        )
    return found


def _mb_to_best(run: Path, summary: dict[str, Any]) -> float:
    """MB each client sent and received, up + down, in rounds 1 to the selected round."""
    upto = [r for r in read_rounds(run) if r["round"] <= summary["best_round"]]
    sent = sum(r["upload_bytes"] + r["download_bytes"] for r in upto)
    return sent / summary["clients_per_round"] / 1e6


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def dense_of(method: str) -> str:
    """Return the dense cell a sparse one is compared with: ``no-d-10pct`` → ``no-d-dense``."""
    return "no-d-dense" if method.startswith("no-d-") else "dense"


def _group_order(item: tuple[tuple[str, str], Any]) -> tuple[str, bool, bool]:
    """By setting; cells with D first, each group's dense cell first."""
    setting, method = item[0]
    return setting, dense_of(method) == "no-d-dense", method != dense_of(method)


def sparsity_rows(grid: Path) -> list[dict[str, Any]]:
    """One row per cell: density, HR@10 over seeds, change against dense, bytes per client.

    A sparse cell is compared with the dense cell of its own setting, on the same seeds.
    """
    found = cells(grid)
    several = len({setting for setting, _ in found}) > 1
    rows = []
    for (setting, method), runs in sorted(found.items(), key=_group_order):
        own_dense = found.get((setting, dense_of(method)), [])
        dense = {s["seed_name"]: s["test_hr10"] for s in own_dense}
        hr, std = mean_std([s["test_hr10"] for s in runs])
        # Against its dense cell on the same seeds only.
        paired = [(s["test_hr10"], dense[s["seed_name"]]) for s in runs if s["seed_name"] in dense]
        change = sum(a for a, _ in paired) / sum(b for _, b in paired) - 1 if paired else None
        # Sign-flip test over every (user, seed) pair of the seeds both cells have.
        hits = {s["seed_name"]: s["hits"] for s in own_dense}
        both = [(s["hits"], hits[s["seed_name"]]) for s in runs if s["seed_name"] in hits]
        test = None
        if both and method != dense_of(method):
            test = paired_test(*(np.concatenate(side) for side in zip(*both, strict=True)))
        clients = runs[0]["clients_per_round"]
        up = statistics.fmean(s["upload_bytes_per_round"] for s in runs) / clients
        down = statistics.fmean(s["download_bytes_per_round"] for s in runs) / clients
        dense_both = runs[0]["dense_bytes_per_round"] / clients
        rows.append(
            {
                "method": f"{setting} {method}" if several else method,
                "seeds": len(runs),
                "density": statistics.fmean(
                    s.get("density_selected", s["density_final"]) for s in runs
                ),
                "hr": hr,
                "std": std,
                "per_seed": [s["test_hr10"] for s in runs],
                "selected": statistics.fmean(s["best_round"] for s in runs),
                "change": change,
                "up_kb": up / 1e3,
                "down_kb": down / 1e3,
                "saving": dense_both / (up + down),
                "mb": statistics.fmean(s["mb"] for s in runs),
                "test": test,
            }
        )
    return rows


def sparsity_table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown table of :func:`sparsity_rows`."""
    lines = [
        "| cell | seeds | density of C | test HR@10 | per seed | vs dense (same seeds) "
        "| p, 95 % CI of the difference "
        "| selected round | up KB | down KB | bytes vs dense FedAvg | MB to selected round |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        change = "–" if r["change"] is None else f"{100 * r['change']:+.1f} %"
        seeds = ", ".join(f"{v:.4f}" for v in r["per_seed"])
        t = r["test"]
        p = "–" if t is None else f"{t.p_value:.2f} [{t.interval.low:+.3f}, {t.interval.high:+.3f}]"
        lines.append(
            f"| `{r['method']}` | {r['seeds']} | {r['density']:.3f} "
            f"| {r['hr']:.4f} ± {r['std']:.4f} | {seeds} | {change} "
            f"| {p} | {r['selected']:.0f} "
            f"| {r['up_kb']:.1f} "
            f"| {r['down_kb']:.1f} | {r['saving']:.2f}× | {r['mb']:.1f} |"
        )
    return lines


def strategy_rows(grid: Path, clean: str = "no-attack", attacked: str = "attack-5pct") -> list:
    """One row per strategy: HR@10 and the target's exposure without and with the attack."""
    found = cells(grid)
    rows = []
    for method in dict.fromkeys(m for _, m in found):
        pair = [found.get((setting, method), [None])[0] for setting in (clean, attacked)]
        if None in pair:
            print(f"{method}: a setting is missing, left out", file=sys.stderr)
            continue
        base, hit = pair
        rows.append(
            {
                "method": method,
                "hr": base["test_hr10"],
                "hr_attack": hit["test_hr10"],
                "exposure": base["target_exposure10"],
                "exposure_attack": hit["target_exposure10"],
                "within_2x": hit["target_exposure10"] <= 2 * base["target_exposure10"],
                "seconds": statistics.fmean(
                    (base["round_seconds_median"], hit["round_seconds_median"])
                ),
            }
        )
    return rows


def strategy_table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown table of :func:`strategy_rows`."""
    lines = [
        "| strategy | HR@10 no attack | HR@10 attack | exposure no attack | exposure attack "
        "| within 2× | s/round |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['method']}` | {r['hr']:.4f} | {r['hr_attack']:.4f} | {r['exposure']:.4f} "
            f"| {r['exposure_attack']:.4f} | {'yes' if r['within_2x'] else 'no'} "
            f"| {r['seconds']:.1f} |"
        )
    return lines


def baseline_hr(grid: Path, method: str = "mostpop") -> float | None:
    """Mean test HR@10 of a baseline's finished seeds in ``grid`` (``None`` if none)."""
    found = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in grid.glob(f"*--{method}--s*/summary.json")
    ]
    return statistics.fmean(s["test_hr10"] for s in found) if found else None


def _label(ax: Any, text: str, xy: tuple[float, float], **style: Any) -> None:
    """Write ``text`` just above and right of the point ``xy``."""
    ax.annotate(text, xy, fontsize=7, xytext=(4, 4), textcoords="offset points", **style)


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def draw_sparsity(
    rows: list[dict[str, Any]],
    path: Path,
    mostpop: float | None,
    title: str,
    absolute: bool = False,
) -> None:
    """Test HR@10 (mean ± std over seeds) against the bytes saved, one point per cell.

    With ``absolute`` the x axis is each client's KB per round (up + down) instead, so that
    cells with C of different widths share one scale.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [r["up_kb"] + r["down_kb"] if absolute else r["saving"] for r in rows]
    if mostpop is not None:
        ax.axhline(mostpop, color="grey", linestyle="--", linewidth=1)
        _label(ax, "MostPop", (min(xs), mostpop), color="grey")
    for x, r in zip(xs, rows, strict=True):
        ax.errorbar(x, r["hr"], yerr=r["std"], fmt="o", capsize=3)
        _label(ax, r["method"], (x, r["hr"]))
    if absolute:
        ax.set_xscale("log")
        ax.set_xlim(min(xs) / 1.3, max(xs) * 2.5)  # room for the labels
    ax.set(
        xlabel="KB per client and round, up + down (log)"
        if absolute
        else "bytes per round saved against dense FedAvg of C (×)",
        ylabel="test HR@10 (mean ± std over seeds)",
        title=title,
    )
    _save(fig, path)


def draw_strategies(rows: list[dict[str, Any]], path: Path) -> None:
    """Each strategy's (exposure, HR@10) without the attack (open) and with it (filled)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        attacked = (r["exposure_attack"], r["hr_attack"])
        (dot,) = ax.plot(*attacked, "o")
        colour = dot.get_color()
        ax.plot(r["exposure"], r["hr"], "o", mfc="none", color=colour)
        arrow = {"arrowstyle": "->", "color": colour}
        ax.annotate("", xy=attacked, xytext=(r["exposure"], r["hr"]), arrowprops=arrow)
        _label(ax, r["method"], attacked)
    ax.set(
        xlabel="target's exposure@10 (open: no attack, filled: 5 % poisoning clients)",
        ylabel="test HR@10",
        title="Strategies under model poisoning, ML-100K, 15 rounds",
    )
    _save(fig, path)


def main(argv: list[str]) -> None:
    """Print both tables and draw both figures."""
    root = Path(argv[0]) if argv else Path("runs/compare")
    figures = Path(argv[1]) if len(argv) > 1 else Path("docs/figures")
    figures.mkdir(parents=True, exist_ok=True)
    for name, (figure, title) in SPARSITY_GRIDS.items():
        sparse = sparsity_rows(root / name) if (root / name).exists() else []
        print(f"{name}:", "\n".join(sparsity_table(sparse)), "", sep="\n")
        if sparse:
            mostpop = baseline_hr(root / name)
            draw_sparsity(sparse, figures / figure, mostpop, title, name in ABSOLUTE_BYTES)
    grid = root / STRATEGIES_GRID
    strategies = strategy_rows(grid) if grid.exists() else []
    print("\n".join(strategy_table(strategies)))
    if strategies:
        draw_strategies(strategies, figures / "strategies_ml100k.png")


if __name__ == "__main__":
    main(sys.argv[1:])
