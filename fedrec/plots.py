"""PNG figures of a comparison grid, one pair per setting.

* ``hr10_rounds--<setting>.png``: validation HR@10 (sampled) over rounds per method, the mean over
  seeds as a line and mean ± std as a band. Methods run for a single round (MostPop, Random) are
  drawn as horizontal lines.
* ``hr10_bytes--<setting>.png``: test HR@10 at the validation-selected round against bytes per
  round (up + down), mean ± std over seeds. Methods that move no bytes are horizontal lines.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot), so no display and no global
backend state are involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from fedrec.results import read_rounds

CURVE_KEY = "val_sampled_hr10"


def write_plots(
    out_dir: Path, settings: Sequence[str], methods: Sequence[str], rows: list[dict[str, Any]]
) -> list[Path]:
    """Draw both figures of every setting into ``out_dir``; return their paths.

    Parameters
    ----------
    out_dir : Path
        Folder of the grid's reports.
    settings, methods : sequence of str
        Names in the order the report lists them.
    rows : list of dict
        One per run: ``setting``, ``method``, ``run`` (its folder), ``test_hr10`` and
        ``bytes_per_round``.
    """
    paths = []
    colour_of = dict(zip(methods, _colours(len(methods)), strict=True))
    for setting in settings:
        by_method = {
            m: [r for r in rows if r["setting"] == setting and r["method"] == m] for m in methods
        }
        mine = {m: rs for m, rs in by_method.items() if rs}  # a partial grid may lack some
        if not mine:
            continue
        colours = [colour_of[m] for m in mine]
        paths.append(_save(_rounds_figure(setting, mine, colours), out_dir, "rounds", setting))
        paths.append(_save(_bytes_figure(setting, mine, colours), out_dir, "bytes", setting))
    return paths


def validation_curve(run_dirs: Sequence[Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (rounds, mean, std) of validation HR@10 over runs, on rounds every run evaluated."""
    curves = []
    for run_dir in run_dirs:
        curves.append({r["round"]: r[CURVE_KEY] for r in read_rounds(run_dir) if CURVE_KEY in r})
    common = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
    if not common:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    values = np.array([[c[r] for r in common] for c in curves], dtype=np.float64)
    return np.array(common), values.mean(axis=0), _std(values)


def _rounds_figure(
    setting: str, rows: dict[str, list[dict[str, Any]]], colours: list[Any]
) -> Figure:
    fig, ax = _figure()
    for (method, rs), colour in zip(rows.items(), colours, strict=True):
        rounds, mean, std = validation_curve([Path(r["run"]) for r in rs])
        if len(rounds) == 1:
            ax.axhline(mean[0], color=colour, linestyle=":", label=f"{method} (1 round)")
        elif len(rounds) > 1:
            ax.plot(rounds, mean, color=colour, label=method)
            ax.fill_between(rounds, mean - std, mean + std, color=colour, alpha=0.2, linewidth=0)
    ax.set_xlabel("round")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("validation HR@10 (sampled)")
    ax.set_title(f"{setting}: validation HR@10 over rounds (mean ± std over seeds)")
    return _finish(fig, ax)


def _bytes_figure(
    setting: str, rows: dict[str, list[dict[str, Any]]], colours: list[Any]
) -> Figure:
    fig, ax = _figure()
    positive = False
    for (method, rs), colour in zip(rows.items(), colours, strict=True):
        hr = np.array([r["test_hr10"] for r in rs], dtype=np.float64)
        sent = np.array([r["bytes_per_round"] for r in rs], dtype=np.float64)
        if sent.mean() <= 0:
            ax.axhline(hr.mean(), color=colour, linestyle=":", label=f"{method} (no bytes)")
            continue
        positive = True
        ax.errorbar(
            sent.mean(), hr.mean(), xerr=_std(sent), yerr=_std(hr), fmt="o", color=colour,
            capsize=3, label=method,
        )  # fmt: skip
        ax.annotate(method, (sent.mean(), hr.mean()), textcoords="offset points", xytext=(4, 4))
    if positive:
        ax.set_xscale("log")
    ax.set_xlabel("bytes per round (up + down, all participants)")
    ax.set_ylabel("test HR@10 at the validation-selected round")
    ax.set_title(f"{setting}: HR@10 vs bytes per round (mean ± std over seeds)")
    return _finish(fig, ax)


def _std(values: np.ndarray) -> Any:
    """Sample std over seeds (axis 0), as the Markdown table reports it; 0 for one seed."""
    return values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros_like(values[0])


def _figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=(8, 5), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _finish(fig: Figure, ax: Axes) -> Figure:
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    return fig


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _save(fig: Figure, out_dir: Path, kind: str, setting: str) -> Path:
    path = out_dir / f"hr10_{kind}--{setting}.png"
    fig.savefig(path, format="png")
    return path
