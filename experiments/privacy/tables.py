"""Print the privacy study's tables from the grid's run folders (after `fedrec compare`/`audit`).

Usage: ``python experiments/privacy/tables.py [runs/compare]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fedrec.privacy.client_level import client_level_epsilon


def _load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else {}


def dp_table(grid: Path) -> list[str]:
    """HR@10 and ε (at the rounds run, and the same σ over 100 rounds) per client-DP cell."""
    lines = [
        "| cell | σ | rounds | ε (run) | ε (100 rounds) | test HR@10 | vs non-private |",
        "|---|---|---|---|---|---|---|",
    ]
    runs = sorted(
        p for p in grid.glob("*--s0") if "mostpop" not in p.name and "random" not in p.name
    )
    base = _load(grid / "ml100k--non-private--s0" / "summary.json").get("test_hr10") or 0.0
    for run in runs:
        s = _load(run / "summary.json")
        if not s:
            continue
        dp = s.get("client_dp", {})
        sigma, rate = dp.get("noise_multiplier"), dp.get("sample_rate", 1.0)
        eps_run = dp.get("epsilon")
        eps_100 = client_level_epsilon(sigma, rate, 100, dp["delta"]) if dp else None
        rel = f"{s['test_hr10'] / base:.0%}" if base else "–"
        lines.append(
            f"| `{run.name.split('--')[1]}` | {sigma if dp else '–'} | {s['rounds']} "
            f"| {_num(eps_run, dp)} | {_num(eps_100, dp)} | {s['test_hr10']:.4f} | {rel} |"
        )
    return lines


def leakage_table(grid: Path) -> list[str]:
    """Attack AUC, precision@10, bytes and HR@10 per mitigation cell."""
    lines = [
        "| mitigation | rows/upload | KB/upload | vs touched | AUC | precision@10 | test HR@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    base = _load(grid / "ml100k--touched--s0" / "audit.json")
    base_bytes = base["rounds"][0]["upload_bytes_per_user_mean"] if base else 0.0
    for run in sorted(grid.glob("*--s0")):
        audit = _load(run / "audit.json")
        if not audit:
            continue
        r = audit["rounds"][0]
        kb = r["upload_bytes_per_user_mean"] / 1e3
        ratio = f"{r['upload_bytes_per_user_mean'] / base_bytes:.2f}×" if base_bytes else "–"
        lines.append(
            f"| `{run.name.split('--')[1]}` | {r['rows_per_upload_mean']:.0f} | {kb:.1f} | {ratio} "
            f"| {r['membership_auc']:.3f} | {r['precision10']:.3f} | {audit['test_hr10']:.4f} |"
        )
    return lines


def _num(value: float | None, present: dict[str, Any]) -> str:
    if not present:
        return "–"
    return "∞" if value is None or value == float("inf") else f"{value:.2f}"


def main(root: Path) -> None:
    """Print both tables."""
    print("\n".join(dp_table(root / "client-dp-ml100k")))
    print()
    print("\n".join(leakage_table(root / "leakage-ml100k")))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/compare"))
