"""The run folder: resolved config, one JSON line per round, per-user ranks, and the summary.

Every summary records its protocol (negative sampling, candidates, tie rule, selection rule), so
a number read later can always be traced to how it was measured.
"""

from __future__ import annotations

import json
import shutil
import statistics
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from fedrec.config.load import config_to_yaml
from fedrec.config.schema import ExperimentConfig
from fedrec.metrics.confidence import bootstrap_interval
from fedrec.metrics.ranking import hit_rate, ndcg
from fedrec.wire import RANK_KEYS, USERS

#: The folder of a run's last checkpoint (written by :mod:`server.checkpoint`), until it finishes.
CHECKPOINT_DIR = "checkpoint"


class RunFolder:
    """Writes one run's artefacts under ``path``.

    Parameters
    ----------
    path : Path
        The run folder (created if missing).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        (path / "ranks").mkdir(exist_ok=True)
        #: Folder of the simulated clients' private state (the server may place it in RAM).
        self.state_dir = path / "client_state"

    def write_config(self, cfg: ExperimentConfig) -> None:
        """Save the resolved config as ``config.yaml``."""
        (self.path / "config.yaml").write_text(config_to_yaml(cfg), encoding="utf-8")

    def append_round(self, record: dict[str, Any]) -> None:
        """Append one round's record to ``metrics.jsonl``."""
        with (self.path / "metrics.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def save_ranks(self, server_round: int, ranks: dict[str, np.ndarray]) -> None:
        """Save per-user ranks of one evaluated round, so any metric can be recomputed.

        Users are saved in id order, whichever node replied first: a bootstrap interval over
        them (:func:`rank_intervals`) resamples by position, so the order must not vary by run.
        """
        path = self.path / "ranks" / f"round-{server_round:04d}.npz"
        if USERS in ranks:
            order = np.argsort(ranks[USERS], kind="stable")
            ranks = {name: values[order] for name, values in ranks.items()}
        np.savez_compressed(path, **ranks)  # type: ignore[arg-type]

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Write ``summary.json``."""
        text = json.dumps(summary, indent=2, sort_keys=True)
        (self.path / "summary.json").write_text(text + "\n", encoding="utf-8")


def has_checkpoint(run_dir: Path) -> bool:
    """Return whether ``run_dir`` holds a complete checkpoint, one a resumed run can start from."""
    return (run_dir / CHECKPOINT_DIR / "state.json").is_file()


def checkpoint_round(run_dir: Path) -> int | None:
    """Return the round of ``run_dir``'s complete checkpoint, or ``None`` when it has none."""
    if not has_checkpoint(run_dir):
        return None
    meta = json.loads((run_dir / CHECKPOINT_DIR / "state.json").read_text(encoding="utf-8"))
    return int(meta["round"])


def set_aside(run_dir: Path) -> Path:
    """Move an unfinished run's folder, and its private state if that sits in RAM, out of the way.

    A run that was stopped leaves rounds but no summary; running it afresh in the same folder
    would append to its rounds and start from its clients' state. Nothing is deleted: the folder
    becomes ``<name>.interrupted-<UTC time>``, with the RAM store moved into it as
    ``client_state``. Returns the new folder.
    """
    from fedrec.state.budget import ram_store_path

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = run_dir.with_name(f"{run_dir.name}.interrupted-{stamp}")
    store = ram_store_path(run_dir, run_dir.name)
    run_dir.rename(target)
    if store.is_dir() and not (target / "client_state").exists():
        shutil.move(store, target / "client_state")
    return target


def rank_intervals(run_dir: Path, server_round: int, k: int) -> dict[str, list[float]]:
    """Return 95 % bootstrap intervals over users of every metric at one evaluated round."""
    path = run_dir / "ranks" / f"round-{server_round:04d}.npz"
    if not path.exists():
        return {}
    out: dict[str, list[float]] = {}
    with np.load(path) as ranks:
        for name in ranks.files:
            if name not in RANK_KEYS:  # users, and the attack target's rank (not a held-out item)
                continue
            for metric, per_user in (("hr", hit_rate), ("ndcg", ndcg)):
                ci = bootstrap_interval(per_user(ranks[name], k))
                out[f"{name}_{metric}{k}"] = [ci.low, ci.high]
    return out


def read_rounds(path: Path) -> list[dict[str, Any]]:
    """Read ``metrics.jsonl`` back."""
    lines = (path / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def first_selectable_round(cfg: ExperimentConfig) -> int:
    """Return the first round whose model may be selected: where C reaches its target density.

    A sparse run pruned gradually (``sparsity.ramp_rounds`` R) is denser than its target before
    round R; selecting one of those rounds would report a denser C than the run claims. Runs
    without a ramp may select any round (1).
    """
    sp = cfg.sparsity
    return max(1, sp.ramp_rounds) if sp.target_density < 1.0 else 1


def selectable(cfg: ExperimentConfig, rounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the records of ``rounds`` that model selection and early stopping may look at."""
    first = first_selectable_round(cfg)
    return [r for r in rounds if r["round"] >= first]


def selected_hits(run_dir: Path, k: int = 10) -> np.ndarray:
    """Return each user's sampled test hit at ``k`` at the selected round, users in id order.

    Read from the ranks the run saved for that round; a finished run's ``summary.json`` names it.
    """
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    with np.load(run_dir / "ranks" / f"round-{summary['best_round']:04d}.npz") as ranks:
        return hit_rate(ranks["test_sampled"][np.argsort(ranks["users"])], k)


def protocol_record(cfg: ExperimentConfig) -> dict[str, Any]:
    """Describe how the run's numbers were measured."""
    first = first_selectable_round(cfg)
    return {
        "negative_sampling": cfg.protocol,
        "eval_sampled": f"held-out item vs {cfg.data.eval_negatives} never-interacted items",
        "eval_full": "held-out item vs every item without a known interaction",
        "split": "leave-one-out by timestamp (latest=test, second latest=validation)",
        "ties": "positive ranked below every tied candidate",
        "selection": f"best round by {cfg.eval.selection} HR@{cfg.eval.top_k} (sampled)"
        + (f", from round {first} on (C at its target density)" if first > 1 else ""),
        "scores": cfg.eval.score,
        "early_stop": (
            f"after {cfg.eval.patience} evaluations without a better validation HR@{cfg.eval.top_k}"
            + (f", not before round {cfg.eval.patience_from}" if cfg.eval.patience_from else "")
            if cfg.eval.patience
            else "none: every round run"
        ),
    }


def summarise(
    cfg: ExperimentConfig, rounds: list[dict[str, Any]], extra: dict[str, Any]
) -> dict[str, Any]:
    """Select the best round (by validation HR unless told otherwise) and build the summary."""
    k = cfg.eval.top_k
    metric = f"{'val' if cfg.eval.selection == 'validation' else 'test'}_sampled_hr{k}"
    evaluated = [r for r in selectable(cfg, rounds) if metric in r]
    # Ties go to the later round, as the reference's `>=` does.
    best = max(reversed(evaluated), key=lambda r: r[metric]) if evaluated else {}
    by_test = max(reversed(evaluated), key=lambda r: r[f"test_sampled_hr{k}"]) if evaluated else {}
    seconds = [r["round_seconds"] for r in rounds]
    summary: dict[str, Any] = {
        "dataset": cfg.dataset,
        "algorithm": cfg.algorithm,
        "protocol": cfg.protocol,
        "protocol_details": protocol_record(cfg),
        "rounds": len(rounds),
        "best_round": best.get("round"),
        "round_seconds_median": statistics.median(seconds) if seconds else None,
        "round_seconds_min": min(seconds) if seconds else None,
        "round_seconds_max": max(seconds) if seconds else None,
        "eval_seconds_median": statistics.median([r.get("eval_seconds", 0.0) for r in rounds])
        if rounds
        else None,
        "clients_per_round": statistics.median([r["clients"] for r in rounds]) if rounds else 0,
        "upload_bytes_per_round": statistics.median([r["upload_bytes"] for r in rounds])
        if rounds
        else 0,
        "download_bytes_per_round": statistics.median([r["download_bytes"] for r in rounds])
        if rounds
        else 0,
        "dense_bytes_per_round": statistics.median([r.get("dense_bytes", 0) for r in rounds])
        if rounds
        else 0,
        "density_final": rounds[-1].get("density") if rounds else None,
        "density_selected": best.get("density"),
        f"target_exposure{k}": best.get(f"target_exposure{k}"),
        "test_selected": {
            "round": by_test.get("round"),
            f"test_hr{k}": by_test.get(f"test_sampled_hr{k}"),
            f"test_ndcg{k}": by_test.get(f"test_sampled_ndcg{k}"),
            "note": "selected on TEST as the reference code does; for comparison only",
        },
        "config": asdict(cfg),
    }
    for split in ("val", "test"):
        for family in ("sampled", "full"):
            for name in ("hr", "ndcg"):
                key = f"{split}_{family}_{name}{k}"
                short = f"{split}_{name}{k}" if family == "sampled" else key
                summary[short] = best.get(key)
    summary.update(extra)
    return summary
