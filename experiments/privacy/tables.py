"""Print the privacy study's tables and draw its figures from the grids' run folders.

Run after ``fedrec compare`` on the grids of this folder (and ``fedrec audit`` on the leakage
grid's runs). Usage: ``python experiments/privacy/tables.py [runs/compare] [figure folder]``;
figures go to ``docs/figures`` by default.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from fedrec.privacy.client_level import client_level_epsilon

#: Grid folder → the kind of DP its cells use.
DP_GRIDS = {
    "client-dp-100-ml100k": "client",
    "record-dp-ml100k": "record",
}
LEAKAGE_GRID = "leakage-ml100k"


def _load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else {}


def _cells(grid: Path) -> list[tuple[str, dict[str, Any]]]:
    """The grid's seed-0 cells with a summary, MostPop and Random left out."""
    found = []
    for run in sorted(grid.glob("*--s0")):
        summary = _load(run / "summary.json")
        name = run.name.split("--")[1]
        if summary and name not in ("mostpop", "random"):
            found.append((name, summary))
    return found


def baseline_of(cell: str) -> str:
    """Return the non-private cell a private one is measured against: same name after its σ.

    ``sigma-7-server-decay`` and ``clip-only-server-decay`` → ``non-private-server-decay``.
    """
    return re.sub(r"^(sigma-[0-9.]+|clip-only)", "non-private", cell)


def dp_rows(grid: Path, kind: str) -> list[dict[str, Any]]:
    """One row per cell: σ, rounds, ε and test HR@10 against its own non-private cell."""
    cells = _cells(grid)
    hr = {name: s["test_hr10"] for name, s in cells}
    rows = []
    for name, s in cells:
        base = hr.get(baseline_of(name))
        entry = s.get("client_dp" if kind == "client" else "dpsgd", {})
        eps = entry.get("epsilon" if kind == "client" else "epsilon_max") if entry else None
        eps_100 = None
        if kind == "client" and entry:
            eps_100 = client_level_epsilon(
                entry["noise_multiplier"], entry["sample_rate"], 100, entry["delta"]
            )
        rows.append(
            {
                "grid": grid.name,
                "kind": kind,
                "cell": name,
                "sigma": entry.get("noise_multiplier") if entry else None,
                "rounds": s["rounds"],
                "best_round": s["best_round"],
                "epsilon": eps,
                "epsilon_100": eps_100,
                "private": bool(entry),
                "test_hr10": s["test_hr10"],
                "relative": s["test_hr10"] / base if base else None,
            }
        )
    return rows


def dp_table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown table of :func:`dp_rows`."""
    head = "| grid | cell | σ | rounds (selected) | ε (run) | ε (100 rounds) | test HR@10 | vs "
    lines = [head + "its non-private cell |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        private = r["private"]
        lines.append(
            f"| {r['grid']} | `{r['cell']}` | {r['sigma'] if private else '–'} "
            f"| {r['rounds']} ({r['best_round']}) | {_eps(r['epsilon'], private)} "
            f"| {_eps(r['epsilon_100'], private and r['kind'] == 'client')} "
            f"| {r['test_hr10']:.4f} | {_pct(r['relative'])} |"
        )
    return lines


def leakage_rows(grid: Path) -> list[dict[str, Any]]:
    """One row per audited cell: rows and bytes per upload, attack AUC, precision@10, HR@10."""
    base = _load(grid / "ml100k--touched--s0" / "audit.json")
    base_bytes = base["rounds"][0]["upload_bytes_per_user_mean"] if base else 0.0
    rows = []
    for run in sorted(grid.glob("*--s0")):
        audit = _load(run / "audit.json")
        if not audit:
            continue
        r = audit["rounds"][0]
        up = r["upload_bytes_per_user_mean"]
        rows.append(
            {
                "cell": run.name.split("--")[1],
                "rows": r["rows_per_upload_mean"],
                "kb": up / 1e3,
                "ratio": up / base_bytes if base_bytes else None,
                "auc": r["membership_auc"],
                "precision10": r["precision10"],
                "test_hr10": audit["test_hr10"],
            }
        )
    return rows


def leakage_table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown table of :func:`leakage_rows`."""
    lines = [
        "| mitigation | rows/upload | KB/upload | vs touched | AUC | precision@10 | test HR@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] else "–"
        lines.append(
            f"| `{r['cell']}` | {r['rows']:.0f} | {r['kb']:.1f} | {ratio} | {r['auc']:.3f} "
            f"| {r['precision10']:.3f} | {r['test_hr10']:.4f} |"
        )
    return lines


def plot_dp(rows: list[dict[str, Any]], path: Path) -> None:
    """HR@10 against ε, one line per configuration, its non-private cell as a dotted line."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    configs = dict.fromkeys((r["grid"], baseline_of(r["cell"])) for r in rows)
    for grid, base in configs:
        mine = [r for r in rows if r["grid"] == grid and baseline_of(r["cell"]) == base]
        private = sorted((r for r in mine if r["private"] and r["epsilon"]), key=_by_eps)
        if not private:
            continue
        name = base.removeprefix("non-private").lstrip("-") or "reference"
        label = f"{grid.split('-ml')[0]}: {name}"
        xs, ys = [r["epsilon"] for r in private], [r["test_hr10"] for r in private]
        line = ax.plot(xs, ys, marker="o", label=label)[0]
        for r in private:
            ax.annotate(f"σ={r['sigma']:g}", (r["epsilon"], r["test_hr10"]), fontsize=6)
        for r in mine:
            if r["cell"] == base:
                ax.axhline(r["test_hr10"], color=line.get_color(), linestyle=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("ε at δ = 1e-5 (Opacus RDP; record-level: max over users)")
    ax.set_ylabel("test HR@10 (validation-selected round)")
    ax.set_title("FedRAP on ML-100K: utility against privacy (dotted: non-private)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_leakage(rows: list[dict[str, Any]], path: Path) -> None:
    """Attack AUC against upload bytes per mitigation."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        ax.scatter(r["ratio"] or 0.0, r["auc"])
        ax.annotate(r["cell"], (r["ratio"] or 0.0, r["auc"]), fontsize=7)
    ax.axhline(0.55, color="grey", linestyle=":", lw=1)
    ax.axvline(3.0, color="grey", linestyle=":", lw=1)
    ax.set_xlabel("upload bytes / unmitigated (touched) upload")
    ax.set_ylabel("membership AUC of the server's attack")
    ax.set_title("Upload leakage on ML-100K (dotted: the issue's targets)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _by_eps(row: dict[str, Any]) -> float:
    return float(row["epsilon"])


def _eps(value: float | None, present: bool) -> str:
    if not present:
        return "–"
    return "∞" if value is None or value == float("inf") else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "–"


def main(root: Path, figures: Path) -> None:
    """Print the tables and write ``hr_vs_epsilon.png`` and ``leakage_auc.png``."""
    figures.mkdir(parents=True, exist_ok=True)
    rows = [r for name, kind in DP_GRIDS.items() for r in dp_rows(root / name, kind)]
    print("\n".join(dp_table(rows)))
    plot_dp(rows, figures / "hr_vs_epsilon.png")
    leak = leakage_rows(root / LEAKAGE_GRID)
    print()
    print("\n".join(leakage_table(leak)))
    if leak:
        plot_leakage(leak, figures / "leakage_auc.png")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        Path(args[0]) if args else Path("runs/compare"),
        Path(args[1]) if len(args) > 1 else Path("docs/figures"),
    )
