"""Command line: ``fedrec run [experiment.yaml] [key=value ...]``.

The typed config is built here and handed to factories of the ServerApp and ClientApp, because
``flwr.simulation.run_simulation`` takes no ``run_config``; ``flwr run .`` reaches the same apps
through ``pyproject.toml`` and :func:`fedrec.config.from_run_config`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from fedrec.bench_suites import SUITES
from fedrec.config import ConfigError, ExperimentConfig, load_config
from fedrec.deploy.commands import add_deploy_commands

T = TypeVar("T")


def simulate(cfg: ExperimentConfig, verbose: bool | None = None, ray_address: str = "") -> Path:
    """Run one experiment as a Flower simulation on the Ray backend; return its run folder.

    Flower's per-round INFO lines are silenced unless ``verbose``: the progress bar shows the
    rounds. (flwr sets its logger to DEBUG when first imported, so this is done after.)
    ``None`` keeps what the command line asked for (``-v``). ``ray_address`` joins a running
    Ray cluster when the config names none (a grid's own cluster, :mod:`fedrec.cluster`); it is
    where the run executes, not what it computes, so the saved config does not record it.
    """
    from flwr.simulation import run_simulation

    from clients.app import make_client_app
    from fedrec.run_lock import refuse_if_running
    from server.app import make_server_app, refuse_earlier_run, with_run_name

    _quiet_flower(_VERBOSE if verbose is None else verbose)

    cfg = with_run_name(cfg)
    run_dir = Path(cfg.resume) if cfg.resume else Path(cfg.output_dir) / cfg.run_name
    refuse_if_running(run_dir)  # before Ray starts
    if not cfg.resume:
        refuse_earlier_run(run_dir)
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    run_simulation(
        server_app=make_server_app(cfg),
        client_app=make_client_app(cfg),
        num_supernodes=cfg.federation.num_nodes,
        backend_config=ray_backend_config(cfg, ray_address),  # type: ignore[arg-type]
    )
    if not (run_dir / "summary.json").exists():
        raise RuntimeError(f"the simulation ended without a summary in {run_dir}")
    return run_dir


def ray_backend_config(
    cfg: ExperimentConfig, ray_address: str = ""
) -> dict[str, dict[str, object]]:
    """Flower's Ray backend settings: node resources, and an existing cluster if one is given.

    The config's ``federation.ray_address`` comes first, then ``ray_address``.
    """
    init_args: dict[str, object] = {"log_to_driver": True}
    address = cfg.federation.ray_address or ray_address
    if address:
        init_args["address"] = address
    else:
        # Without an address, ray.init joins any cluster a `ray start` left on this machine,
        # whose workers may run another checkout's code; "local" always starts a fresh one.
        init_args["address"] = "local"
        init_args["include_dashboard"] = False
    return {
        "client_resources": {"num_cpus": cfg.federation.node_cpus, "num_gpus": 0.0},
        "init_args": init_args,
    }


def resolve_config(experiment: str | None, overrides: Sequence[str]) -> ExperimentConfig:
    """Build the config of ``fedrec run``; ``resume=<run folder>`` starts from its saved config."""
    cfg = load_config(experiment, overrides)
    if cfg.resume:
        saved = Path(cfg.resume) / "config.yaml"
        if not saved.is_file():
            raise ConfigError(f"config key 'resume': {saved} not found")
        cfg = load_config(saved, overrides)
    check_names(cfg)
    return cfg


def check_names(cfg: ExperimentConfig) -> None:
    """Refuse unknown algorithm and dataset names before any simulation starts."""
    from fedrec.algorithms import algorithm_names
    from fedrec.data import dataset_names

    if cfg.algorithm not in algorithm_names():
        raise ConfigError(
            f"config key 'algorithm': unknown '{cfg.algorithm}'; known: {algorithm_names()}"
        )
    if cfg.dataset not in dataset_names():
        raise ConfigError(
            f"config key 'dataset': unknown '{cfg.dataset}'; known: {dataset_names()}"
        )


def _print_summary(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    k = summary["config"]["eval"]["top_k"]
    print(f"run folder: {run_dir}")
    print(
        f"{summary['algorithm']} on {summary['dataset']} ({summary['protocol']}), "
        f"best round {summary['best_round']} by validation: "
        f"test HR@{k} {summary[f'test_hr{k}']:.4f}  NDCG@{k} {summary[f'test_ndcg{k}']:.4f}  "
        f"(full ranking HR@{k} {summary[f'test_full_hr{k}']:.4f})"
    )
    print(
        f"median {summary['round_seconds_median']:.2f} s/round (training), "
        f"peak RSS {summary['peak_rss_mb']:.0f} MiB"
    )


def _cmd_run(args: argparse.Namespace) -> int:
    cfg = resolve_config(args.experiment, args.overrides)
    _quiet_flower(args.verbose)
    _print_summary(simulate(cfg))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from fedrec.bench import run_bench

    _quiet_flower(args.verbose)
    run_bench(args.suite, args.rounds, args.out, args.output_dir)
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    from fedrec.search import Search
    from fedrec.tune import run_search, write_results

    search = Search.load(
        args.search,
        base=args.overrides,
        num_samples=args.num_samples,
        output_dir=args.output_dir,
        concurrency=args.concurrency,
    )
    paths = write_results(search, run_search(search))
    print((search.output_dir / "best.csv").read_text(encoding="utf-8"))
    print("written: " + ", ".join(str(path) for path in paths))
    return 0


_VERBOSE = False


def _quiet_flower(verbose: bool) -> None:
    global _VERBOSE  # the -v of this command, for simulations started further down
    _VERBOSE = verbose
    logging.getLogger("flwr").setLevel(logging.INFO if verbose else logging.WARNING)


def _cmd_compare(args: argparse.Namespace) -> int:
    from fedrec.compare import run_grid, write_reports
    from fedrec.grid import Grid

    _quiet_flower(args.verbose)
    grid = Grid.load(args.grid)
    only = grid.select(args.settings, args.methods, args.seeds)  # no names: every cell
    if args.status:
        from fedrec.cells import cell_statuses, status_report

        configs = {cell: resolve_config(None, grid.overrides(*cell)) for cell in grid.cells()}
        print(status_report(grid, cell_statuses(grid, configs), only))
        return 0
    rows = run_grid(grid, args.report_only, args.jobs, not args.ray_per_cell, only)
    reports = write_reports(grid, rows)
    print(reports.markdown.read_text(encoding="utf-8"))
    print(f"written: {reports.csv}, {reports.markdown}")
    print("figures: " + ", ".join(str(path) for path in reports.figures))
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from clients.runtime import split_for
    from fedrec.audit import audit_run

    cfg = load_config(args.run / "config.yaml")
    report = audit_run(args.run, split_for(cfg), cfg.eval.top_k)
    print(json.dumps(report, indent=2, sort_keys=True))
    print(f"written: {args.run / 'audit.json'}")
    return 0


def _comma_list(kind: Callable[[str], T]) -> Callable[[str], list[T]]:
    """Return an argparse type that reads ``a,b,c`` as a list of ``kind``."""

    def comma_list(text: str) -> list[T]:
        return [kind(item.strip()) for item in text.split(",") if item.strip()]

    return comma_list


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``fedrec`` command."""
    parser = argparse.ArgumentParser(prog="fedrec", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one experiment (Flower simulation, Ray backend)")
    run.add_argument("experiment", nargs="?", help="experiment YAML (optional)")
    run.add_argument("overrides", nargs="*", help="key=value overrides, applied last")
    run.add_argument("-v", "--verbose", action="store_true", help="keep Flower's INFO logs")
    run.set_defaults(func=_cmd_run)
    bench = sub.add_parser("bench", help="time fixed cases per round (see fedrec/bench.py)")
    bench.add_argument("--suite", default="ml100k", choices=sorted(SUITES), help="cases to run")
    bench.add_argument("--rounds", type=int, help="rounds of every case (default: per case)")
    bench.add_argument("--out", type=Path, help="JSON report (default: OUTPUT_DIR/bench.json)")
    bench.add_argument("--output-dir", type=Path, help="run folders (default: runs/bench/...)")
    bench.add_argument("-v", "--verbose", action="store_true", help="keep Flower's INFO logs")
    bench.set_defaults(func=_cmd_bench)
    compare = sub.add_parser("compare", help="run a grid of experiments and tabulate them")
    compare.add_argument("grid", type=Path, help="grid YAML (see fedrec/grid.py)")
    compare.add_argument("-v", "--verbose", action="store_true", help="keep Flower's INFO logs")
    nothing = compare.add_mutually_exclusive_group()
    nothing.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: tabulate the finished cells of a partial grid",
    )
    nothing.add_argument(
        "--status",
        action="store_true",
        help="run nothing: list every cell as finished, running, resumable, or to run",
    )
    compare.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="cells run side by side, each a `fedrec run` process (default: 1, in this process)",
    )
    for flag, kind, what in (
        ("--settings", str, "settings"),
        ("--methods", str, "methods (of the grid, or mostpop, random)"),
        ("--seeds", int, "seeds"),
    ):
        compare.add_argument(
            flag,
            type=_comma_list(kind),
            default=[],
            help=f"only these {what}, comma-separated (default: all)",
        )
    compare.add_argument(
        "--ray-per-cell",
        action="store_true",
        help="start Ray for every cell (default: cells in this process share one Ray cluster)",
    )
    compare.set_defaults(func=_cmd_compare)
    audit = sub.add_parser("audit", help="leakage audit of a run's recorded uploads")
    audit.add_argument("run", type=Path, help="run folder (run with leakage.record_round=N)")
    audit.set_defaults(func=_cmd_audit)
    add_deploy_commands(sub)
    tune = sub.add_parser("tune", help="hyperparameter search with Ray Tune (fedrec/search.py)")
    tune.add_argument("search", type=Path, help="search YAML (see fedrec/search.py)")
    tune.add_argument("overrides", nargs="*", help="key=value added to the search's base")
    tune.add_argument("--num-samples", type=int, help="trials per algorithm (default: file's)")
    tune.add_argument("--concurrency", type=int, help="trials at a time (default: file's, or 1)")
    tune.add_argument("--output-dir", help="parent of the search's folder (default: file's)")
    tune.set_defaults(func=_cmd_tune)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fedrec`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run" and args.experiment and "=" in args.experiment:
        args.overrides.insert(0, args.experiment)
        args.experiment = None
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe surfaces here, not in the interpreter's exit
        return code
    except ConfigError as exc:
        print(f"fedrec: configuration error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader left (`fedrec compare g.yaml --status | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
