"""``fedrec bench``: time fixed cases through the real Flower simulation and tabulate them.

Each case is a list of ``key=value`` overrides run by :func:`fedrec.cli.simulate`, one after
another in this process (Flower starts and stops Ray for each). Per-round figures cover rounds
2..N only: round 1 also pays for Ray's actors starting and every node loading the data.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from fedrec.bench_suites import Case, get_suite
from fedrec.config import ConfigError, load_config
from fedrec.results import read_rounds

#: Overrides every case gets first: no progress bar, no checkpoint, evaluate only at the end.
COMMON = ("progress=false", "checkpoint_every=0", "eval.every=1000000")
#: Figures compared between the cases of a suite's ``compare`` pairs.
RATIOS = ("round_seconds_median", "overhead_ms_per_client")
NOTE = (
    "per-round figures: rounds 2..N (round 1, with Ray start-up and data loading, excluded); "
    "train = slowest node's pure local training; overhead = (round - train) / clients; "
    "eval = evaluation at the last round; RSS = peak of the whole process tree, Ray included; "
    "anon = its anonymous + tmpfs part (without file pages the kernel can drop and reread)"
)


@dataclass(frozen=True)
class RoundStats:
    """Per-round statistics of one run, over rounds 2..N (medians unless named otherwise)."""

    rounds_measured: int
    clients_per_round: float
    round_seconds_median: float
    round_seconds_min: float
    round_seconds_max: float
    train_seconds_median: float
    overhead_ms_per_client: float
    eval_seconds_median: float | None
    upload_bytes_per_round: float
    download_bytes_per_round: float
    sim_message_bytes_up: float
    sim_message_bytes_down: float


@dataclass(frozen=True)
class CaseResult:
    """A case's overrides, run folder, round statistics and whole-run figures."""

    name: str
    overrides: tuple[str, ...]
    run_dir: str
    stats: RoundStats
    peak_rss_mib: float
    peak_anon_shmem_mib: float
    wall_seconds: float


def round_stats(records: Sequence[Mapping[str, Any]]) -> RoundStats:
    """Summarise ``metrics.jsonl`` records (:func:`fedrec.results.read_rounds`) over rounds 2..N.

    Overhead per client is the median over rounds of ``(round_seconds -
    node_train_seconds_max) / clients``, in ms; evaluation time is the median over evaluated rounds.

    Raises
    ------
    ValueError
        If no round after round 1 had a client.
    """
    steady = [r for r in records if r["round"] > 1 and r["clients"] > 0]
    if not steady:
        raise ValueError("round statistics need a round after round 1 with clients (rounds >= 2)")

    def median(key: str) -> float:
        return float(statistics.median(float(r[key]) for r in steady))

    seconds = [float(r["round_seconds"]) for r in steady]
    overhead = [
        1e3 * (r["round_seconds"] - r["node_train_seconds_max"]) / r["clients"] for r in steady
    ]
    evals = [float(r["eval_seconds"]) for r in records if "eval_seconds" in r]
    return RoundStats(
        rounds_measured=len(steady),
        clients_per_round=median("clients"),
        round_seconds_median=median("round_seconds"),
        round_seconds_min=min(seconds),
        round_seconds_max=max(seconds),
        train_seconds_median=median("node_train_seconds_max"),
        overhead_ms_per_client=float(statistics.median(overhead)),
        eval_seconds_median=float(statistics.median(evals)) if evals else None,
        upload_bytes_per_round=median("upload_bytes"),
        download_bytes_per_round=median("download_bytes"),
        sim_message_bytes_up=median("sim_message_bytes_up"),
        sim_message_bytes_down=median("sim_message_bytes_down"),
    )


def run_cases(
    cases: Sequence[Case], output_dir: Path, rounds: int | None = None
) -> list[CaseResult]:
    """Run ``cases`` one after another in this process through :func:`fedrec.cli.simulate`.

    Each runs with :data:`COMMON`, then its own overrides, then its run folder
    ``output_dir/<case name>`` and ``rounds`` if given.
    """
    from fedrec.cli import simulate

    results = []
    for case in cases:
        print(f"bench: running {case.name} ...", flush=True)
        tail = [f"output_dir={output_dir}", f"run_name={case.name}"]
        overrides = (*COMMON, *case.overrides, *tail, *([f"rounds={rounds}"] if rounds else []))
        run_dir = simulate(load_config(overrides=overrides))
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        stats = round_stats(read_rounds(run_dir))
        rss, wall = float(summary["peak_rss_mb"]), float(summary["wall_seconds"])
        held = float(summary["peak_anon_shmem_mb"])
        results.append(CaseResult(case.name, overrides, str(run_dir), stats, rss, held, wall))
        print(f"bench: {case.name} done in {wall:.1f} s", flush=True)
    return results


def report(
    suite: str, results: Sequence[CaseResult], pairs: Sequence[tuple[str, str]] = ()
) -> dict[str, Any]:
    """Return the JSON report: machine, note, every case's figures, ratios of compared cases.

    For each (baseline, other) pair in ``pairs`` the ratios are other / baseline of
    :data:`RATIOS`, named ``<field>_ratio``.
    """
    import torch

    stats = {r.name: r.stats for r in results}
    ratios = [
        {"baseline": a, "other": b}
        | {f"{key}_ratio": getattr(stats[b], key) / getattr(stats[a], key) for key in RATIOS}
        for a, b in pairs
    ]
    machine = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "flwr": metadata.version("flwr"),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    cases = [asdict(r) for r in results]
    return {"suite": suite, "machine": machine, "note": NOTE, "cases": cases, "comparisons": ratios}


_MB = 1e-6
#: Table columns: title, width, format, and the figure (from a result's stats, or the result).
_COLUMNS: tuple[tuple[str, int, str, Callable[[CaseResult], object]], ...] = (
    ("case", 16, "{}", lambda r: r.name),
    ("clients", 8, "{:.0f}", lambda r: r.stats.clients_per_round),
    ("s/round", 8, "{:.2f}", lambda r: r.stats.round_seconds_median),
    ("min", 7, "{:.2f}", lambda r: r.stats.round_seconds_min),
    ("max", 7, "{:.2f}", lambda r: r.stats.round_seconds_max),
    ("train s", 8, "{:.2f}", lambda r: r.stats.train_seconds_median),
    ("ovh ms/cl", 10, "{:.2f}", lambda r: r.stats.overhead_ms_per_client),
    ("eval s", 7, "{:.2f}", lambda r: r.stats.eval_seconds_median or float("nan")),
    ("RSS MiB", 8, "{:.0f}", lambda r: r.peak_rss_mib),
    ("anon MiB", 9, "{:.0f}", lambda r: r.peak_anon_shmem_mib),
    ("up MB", 9, "{:.1f}", lambda r: r.stats.upload_bytes_per_round * _MB),
    ("down MB", 9, "{:.1f}", lambda r: r.stats.download_bytes_per_round * _MB),
    ("sim up MB", 10, "{:.2f}", lambda r: r.stats.sim_message_bytes_up * _MB),
    ("sim dn MB", 10, "{:.2f}", lambda r: r.stats.sim_message_bytes_down * _MB),
)


def _line(cells: Sequence[str]) -> str:
    widths = [width for _, width, _, _ in _COLUMNS]
    return " ".join(
        c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def format_table(results: Sequence[CaseResult], compared: Sequence[Mapping[str, Any]] = ()) -> str:
    """Return a fixed-width table of the results, the ratios of compared cases, and the note."""
    header = _line([title for title, _, _, _ in _COLUMNS])
    lines = [header, "-" * len(header)]
    lines += [_line([fmt.format(get(r)) for _, _, fmt, get in _COLUMNS]) for r in results]
    lines += [
        f"{c['other']} / {c['baseline']}: s/round x{c['round_seconds_median_ratio']:.1f}, "
        f"overhead per client x{c['overhead_ms_per_client_ratio']:.1f}"
        for c in compared
    ]
    lines.append(f"({NOTE}; MB = 10^6 bytes, medians per round)")
    return "\n".join(lines)


def run_bench(
    suite_name: str,
    rounds: int | None = None,
    out: Path | None = None,
    output_dir: Path | None = None,
) -> dict[str, Any]:
    """Run a registered suite, print its table and write its JSON report; return the report.

    Parameters
    ----------
    suite_name : str
        A key of :data:`SUITES`.
    rounds : int, optional
        Rounds for every case instead of each case's own (at least 2).
    out : Path, optional
        JSON report path; default ``bench.json`` in the output folder.
    output_dir : Path, optional
        Parent of the run folders; default a new folder under ``runs/bench/``.
    """
    suite = get_suite(suite_name)
    if rounds is not None and rounds < 2:
        raise ConfigError("bench --rounds must be at least 2 (round 1 is not measured)")
    if output_dir is None:
        Path("runs/bench").mkdir(parents=True, exist_ok=True)
        output_dir = Path(tempfile.mkdtemp(prefix=f"{suite_name}-", dir="runs/bench"))
    load = os.getloadavg()  # well above 0: other work shares (or just left) the CPUs
    results = run_cases(suite.cases, output_dir.resolve(), rounds)
    result = report(suite_name, results, suite.compare)
    result["machine"]["load_average_at_start"] = load
    out = out or output_dir / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nsuite {suite_name}: {suite.description}")
    print(format_table(results, result["comparisons"]))
    print(f"report: {out}")
    return result
