"""``fedrec audit <run>``: the attack on every recorded round, with the run's cost and utility.

For every recorded round and every real user (fake users of an attack are left out) the
attack's scores are compared with the user's training positives: membership AUC over all items
and precision@k of its top k, with the attack's orientation (see :mod:`fedrec.audit.attack`)
that does better over all users. ``audit.json`` in the run folder keeps the means over users next
to the run's upload bytes and test HR@k.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fedrec.audit.attack import attack_scores, membership_auc, precision_at_k
from fedrec.audit.record import RecordedRound, load_round, recorded_rounds
from fedrec.data.csr import concat_ranges
from fedrec.data.types import SplitData

#: The attack's two readings of a user's mean change; the audit reports the better one over all
#: users (one bit an attacker learns from the public mitigation settings).
ORIENTATIONS = {1: "against-mean", -1: "with-mean"}


def positives(split: SplitData, users: np.ndarray) -> np.ndarray:
    """Return the ``(U, n_items)`` boolean matrix of the users' training positives."""
    starts = split.train_indptr[users]
    counts = split.train_indptr[users + 1] - starts
    owner = np.repeat(np.arange(len(users)), counts)
    items = split.train_items[concat_ranges(starts, counts)]
    labels = np.zeros((len(users), split.n_items), dtype=bool)
    labels[owner, items] = True
    return labels


def audit_uploads(recorded: RecordedRound, split: SplitData, k: int = 10) -> dict[str, Any]:
    """Return the attack's membership AUC and precision@k over the real users of one round."""
    real = recorded.users < split.n_users - split.n_fake
    updates = recorded.updates.select(real)
    users = recorded.users[real]
    labels = positives(split, users)
    tries = {o: attack_scores(updates, recorded.item_global, o) for o in ORIENTATIONS}
    aucs = {o: membership_auc(s, labels) for o, s in tries.items()}
    best = max(ORIENTATIONS, key=lambda o: float(np.nanmean(aucs[o])))
    scores, auc = tries[best], aucs[best]
    rows = np.diff(updates.offsets)
    return {
        "round": recorded.server_round,
        "orientation": ORIENTATIONS[best],
        "users": len(users),
        "membership_auc": float(np.nanmean(auc)),
        "membership_auc_median": float(np.nanmedian(auc)),
        f"precision{k}": float(precision_at_k(scores, labels, k).mean()),
        "rows_per_upload_mean": float(rows.mean()),
        "upload_bytes_per_user_mean": float(updates.upload_nbytes().mean()),
    }


def audit_run(run_dir: Path, split: SplitData, k: int = 10) -> dict[str, Any]:
    """Audit every recorded round of ``run_dir``; write and return ``audit.json``.

    Raises
    ------
    FileNotFoundError
        If the run recorded no round (``leakage.record_round`` was 0).
    """
    files = recorded_rounds(run_dir)
    if not files:
        raise FileNotFoundError(
            f"{run_dir} has no recorded uploads (leakage/round-*.npz); "
            "run it with leakage.record_round=<round>"
        )
    report: dict[str, Any] = {"rounds": [audit_uploads(load_round(f), split, k) for f in files]}
    summary_path = run_dir / "summary.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        report["mitigation"] = summary["config"]["leakage"]["mitigation"]
        report["upload_bytes_per_round"] = summary.get("upload_bytes_per_round")
        report[f"test_hr{k}"] = summary.get(f"test_hr{k}")
    text = json.dumps(report, indent=2, sort_keys=True)
    (run_dir / "audit.json").write_text(text + "\n", encoding="utf-8")
    return report
