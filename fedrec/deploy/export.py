"""Cut a registered dataset into one interaction file per user, as devices would hold them.

Used to stage a deployment (each SuperNode gets one file), for the guide and for tests. Item ids
in the files are the dataset's dense ids after preprocessing, so every device and the server
agree on the catalogue ``0..n_items-1``; ``items.csv`` maps them back to the original ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fedrec.config.schema import ExperimentConfig
from fedrec.data import SyntheticSpec, get_dataset, implicit_and_filter
from fedrec.data.types import Interactions

CATALOGUE = "catalogue.json"
ITEMS = "items.csv"


@dataclass(frozen=True)
class Export:
    """What :func:`export_users` wrote."""

    folder: Path
    n_items: int
    files: tuple[Path, ...]


def export_users(cfg: ExperimentConfig, folder: Path, max_users: int = 0) -> Export:
    """Write ``user-NNNNN.csv`` (header ``item,timestamp``) for every kept user.

    Parameters
    ----------
    cfg : ExperimentConfig
        Which dataset (``dataset``, ``data.*``) and how it is filtered (``data.min_interactions``).
    folder : Path
        Output folder (created if missing).
    max_users : int
        Write only the first this many users (0: all).

    Returns
    -------
    Export
        The folder, the catalogue size (``deployment.n_items``) and the files.
    """
    inter = implicit_and_filter(_raw(cfg), cfg.data.min_interactions)
    n_users = len(inter.user_labels)
    count = n_users if max_users <= 0 else min(max_users, n_users)
    folder.mkdir(parents=True, exist_ok=True)
    order = np.argsort(inter.users, kind="stable")  # file order within each user
    bounds = np.searchsorted(inter.users[order], np.arange(count + 1))
    files = []
    for user in range(count):
        rows = order[bounds[user] : bounds[user + 1]]
        items, stamps = inter.items[rows].tolist(), inter.timestamps[rows].tolist()
        body = "".join(f"{item},{stamp!r}\n" for item, stamp in zip(items, stamps, strict=True))
        path = folder / f"user-{user:05d}.csv"
        path.write_text("item,timestamp\n" + body, encoding="utf-8")
        files.append(path)
    n_items = len(inter.item_labels)
    labels = "\n".join(f"{i},{label}" for i, label in enumerate(inter.item_labels))
    (folder / ITEMS).write_text("item,label\n" + labels + "\n", encoding="utf-8")
    summary = {"dataset": cfg.dataset, "n_items": n_items, "n_users": n_users, "written": count}
    (folder / CATALOGUE).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return Export(folder, n_items, tuple(files))


def read_labels(path: Path) -> dict[int, str]:
    """Read an ``items.csv`` written by :func:`export_users` (dense id to original id)."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    pairs = (line.split(",", 1) for line in lines if line.strip())
    return {int(item): label for item, label in pairs}


def _raw(cfg: ExperimentConfig) -> Interactions:
    if cfg.dataset != "synthetic":
        return get_dataset(cfg.dataset).loader(cfg.data.path)
    return SyntheticSpec.from_config(cfg.data.synthetic, cfg.seed).generate()
