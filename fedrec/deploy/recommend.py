"""On-device recommendation: the user's top-k unseen items from its saved state alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fedrec.algorithms.fedrap.evaluate import cohort_logits
from fedrec.deploy.state import MANIFEST, load_state
from fedrec.state.private import PrivateState


@dataclass(frozen=True)
class Recommendation:
    """One recommended item and its score (a logit: higher is better)."""

    rank: int
    item: int
    score: float


def recommend(state_dir: Path, top_k: int) -> list[Recommendation]:
    """Return the ``top_k`` best-scored items the user never interacted with.

    Scores are the personalised model's logits, ``head(D + C)`` with the newest global C the
    device received, the same scores evaluation ranks by.

    Parameters
    ----------
    state_dir : Path
        The device's state folder.
    top_k : int
        How many items (fewer if fewer are unseen).

    Returns
    -------
    list of Recommendation
        Best first; ties keep the lower item id first.
    """
    if top_k < 1:
        raise ValueError(f"top-k must be at least 1, got {top_k}")
    state = load_state(state_dir)
    if state is None:
        raise FileNotFoundError(f"{state_dir}: no device state here (no {MANIFEST})")
    private = PrivateState(
        torch.from_numpy(state.item_local[None]),
        torch.from_numpy(state.head_weight[None]),
        torch.from_numpy(state.head_bias),
    )
    scores = cohort_logits(private, torch.from_numpy(state.item_global))[0].numpy()
    unseen = np.setdiff1d(np.arange(len(scores)), state.seen)
    best = unseen[np.argsort(-scores[unseen], kind="stable")[:top_k]]
    return [Recommendation(r + 1, int(i), float(scores[i])) for r, i in enumerate(best)]


def format_table(recommendations: list[Recommendation], labels: dict[int, str]) -> str:
    """Render recommendations as a plain table, with the items' original ids when known."""
    lines = ["rank\titem\tlabel\tscore"]
    for rec in recommendations:
        label = labels.get(rec.item, "")
        lines.append(f"{rec.rank}\t{rec.item}\t{label}\t{rec.score:.4f}")
    return "\n".join(lines)
