"""``fedrec tune <search.yaml>``: a fair hyperparameter search with Ray Tune.

Every algorithm of the search gets the same number of trials drawn from its space (see
:mod:`fedrec.search`). A trial is one ``fedrec run`` whose objective is the *validation* HR@10 at
the round selected on validation (``val_hr10`` of its ``summary.json``); test figures are
recorded beside it but never used to choose.

Each trial's run is a Flower simulation that starts its own Ray instance, so it runs as a
subprocess of the Tune trial with the environment ``fedrec tune`` was started with, minus
``RAY_ADDRESS``: it never joins Tune's own Ray instance. Tune's instance only gets
``concurrency`` CPUs, one per running trial.

Written under ``<output_dir>/<name>/``:

* ``trials.csv``: every trial's algorithm, sampled values, status and figures;
* ``best.csv``: the best trial of every algorithm;
* ``best/<algorithm>.yaml``: the algorithm's overrides and its best values, an experiment file
  that ``fedrec run`` takes (``fedrec run best/fedrap.yaml rounds=100``) and that a ``fedrec
  compare`` grid may list as a method;
* ``runs/<algorithm>/trial-<id>/``: the trials' run folders (each with ``tune.log``), and
  ``ray_tune/``: Tune's own records.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedrec.overrides import format_override, to_yaml
from fedrec.runs import RunJob, run_environment, run_subprocess
from fedrec.search import Search

OBJECTIVE = "val_hr10"
#: Figures copied from a trial's summary into the results.
REPORTED = (OBJECTIVE, "test_hr10", "test_ndcg10", "best_round", "round_seconds_median")


@dataclass(frozen=True)
class TrialJob:
    """What every trial of one algorithm needs: shared overrides, folders, environment."""

    overrides: tuple[str, ...]
    runs_dir: Path
    cwd: Path
    env: dict[str, str]


def run_search(search: Search) -> dict[str, list[dict[str, Any]]]:
    """Run every algorithm's trials, one algorithm after another; return their result rows."""
    import ray

    out = search.output_dir.resolve()
    env = run_environment()
    ray.init(
        address="local",
        num_cpus=search.concurrency,
        include_dashboard=False,
        runtime_env={"env_vars": {"PYTHONPATH": env["PYTHONPATH"]}},
        configure_logging=False,
    )
    try:
        return {name: _tune_algorithm(search, name, out, env) for name in search.algorithms}
    finally:
        ray.shutdown()


def _tune_algorithm(
    search: Search, algorithm: str, out: Path, env: dict[str, str]
) -> list[dict[str, Any]]:
    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    job = TrialJob(
        overrides=(*search.fixed(algorithm), f"seed={search.seed}"),
        runs_dir=out / "runs" / algorithm,
        cwd=Path.cwd(),
        env=env,
    )
    space = search.space_of(algorithm)
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(run_trial, job=job), {"cpu": 1}),
        param_space={key: dist.to_tune() for key, dist in space.items()},
        tune_config=tune.TuneConfig(
            num_samples=search.num_samples,
            search_alg=BasicVariantGenerator(
                points_to_evaluate=search.first_points(algorithm) or None,
                random_state=search.seed,
                max_concurrent=search.concurrency,
            ),
        ),
        run_config=tune.RunConfig(name=algorithm, storage_path=str(out / "ray_tune"), verbose=1),
    )
    grid = tuner.fit()
    results = [grid[i] for i in range(len(grid))]
    rows = [_result_row(algorithm, result, list(space)) for result in results]
    return sorted(rows, key=lambda row: str(row["trial"]))


def run_trial(config: dict[str, Any], job: TrialJob) -> None:
    """Tune's trainable: run one ``fedrec run`` in a subprocess and report its summary."""
    from ray import tune

    run_name = f"trial-{tune.get_context().get_trial_id()}"
    run_dir = job.runs_dir / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    args = [
        *job.overrides,
        *(format_override(key, value) for key, value in config.items()),
        f"output_dir={job.runs_dir}",
        f"run_name={run_name}",
        "progress=false",
    ]
    run_subprocess(RunJob(run_name, tuple(args), run_dir / "tune.log"), job.cwd, job.env)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    tune.report({key: summary[key] for key in REPORTED} | {"run": str(run_dir)})


def _result_row(algorithm: str, result: Any, keys: list[str]) -> dict[str, Any]:
    metrics = result.metrics or {}
    row: dict[str, Any] = {
        "algorithm": algorithm,
        "trial": metrics.get("trial_id") or Path(result.path).name,
        "status": "error" if result.error else "ok",
    }
    row.update({key: metrics.get(key) for key in REPORTED})
    row.update({key: result.config.get(key) for key in keys})
    row["run"] = metrics.get("run")
    row["error"] = str(result.error).splitlines()[0] if result.error else ""
    return row


def best_rows(results: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Return each algorithm's trial with the highest objective (the first one on ties).

    Raises
    ------
    RuntimeError
        When every trial of an algorithm failed.
    """
    best = {}
    for algorithm, rows in results.items():
        ok = [row for row in rows if row["status"] == "ok"]
        if not ok:
            errors = "; ".join(row["error"] for row in rows)
            raise RuntimeError(f"every trial of {algorithm} failed: {errors}")
        best[algorithm] = max(ok, key=lambda row: row[OBJECTIVE])  # max keeps the first of ties
    return best


def write_results(search: Search, results: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Write ``trials.csv``, ``best.csv`` and ``best/<algorithm>.yaml``; return their paths."""
    out = search.output_dir
    (out / "best").mkdir(parents=True, exist_ok=True)
    every = [row for rows in results.values() for row in rows]
    best = best_rows(results)
    paths = [
        _write_csv(out / "trials.csv", every),
        _write_csv(out / "best.csv", list(best.values())),
    ]
    for algorithm, row in best.items():
        path = out / "best" / f"{algorithm}.yaml"
        path.write_text(best_config_text(search, algorithm, row), encoding="utf-8")
        paths.append(path)
    return paths


def best_config_text(search: Search, algorithm: str, row: dict[str, Any]) -> str:
    """Return the experiment file of an algorithm's best trial: its overrides and best values.

    The search's base (dataset, rounds, ...) is left out, so the file can be used under other
    settings; a comment records it.
    """
    tuned = [format_override(key, row[key]) for key in search.space_of(algorithm)]
    header = (
        f"# fedrec tune '{search.name}': best of {search.num_samples} trials of {algorithm} by "
        f"validation HR@10 = {row[OBJECTIVE]:.4f} ({row['trial']}, seed {search.seed}).\n"
        f"# Searched with base: {' '.join(search.base)}\n"
    )
    return header + to_yaml([*search.algorithms[algorithm], *tuned])


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path
