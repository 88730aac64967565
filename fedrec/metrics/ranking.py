"""Ranks of held-out items and the top-K metrics computed from them.

Tie rule (documented, and tested): the held-out positive is ranked *below* every candidate whose
score ties with it, so a model that scores everything equally gets the worst rank, never a lucky
one. This matches the reference code's ``rank(method="first")`` with negatives listed first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import torch

RankArray = npt.NDArray[np.int64]


def rank_of_positive(
    positive: torch.Tensor, candidates: torch.Tensor, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Return the 1-based rank of each user's positive among its candidates.

    Parameters
    ----------
    positive : torch.Tensor
        Shape ``(U,)``: the score of each user's held-out item.
    candidates : torch.Tensor
        Shape ``(U, C)``: scores of the negatives the positive competes with.
    valid : torch.Tensor, optional
        Boolean ``(U, C)``; ``False`` marks candidates that do not compete (full ranking masks
        the user's own known items this way).

    Returns
    -------
    torch.Tensor
        int64 ranks, ``1 + #{valid candidates scoring >= the positive}``.
    """
    beats = candidates >= positive.unsqueeze(1)
    if valid is not None:
        beats &= valid
    return 1 + beats.sum(dim=1, dtype=torch.int64)


def hit_rate(ranks: RankArray, k: int) -> npt.NDArray[np.float64]:
    """Return per-user HR@k: 1 where the positive is in the top ``k``."""
    return (np.asarray(ranks) <= k).astype(np.float64)


def ndcg(ranks: RankArray, k: int) -> npt.NDArray[np.float64]:
    """Return per-user NDCG@k with one relevant item: ``1 / log2(1 + rank)`` inside the top k."""
    r = np.asarray(ranks, dtype=np.float64)
    return np.where(r <= k, 1.0 / np.log2(1.0 + r), 0.0)


def summarise_ranks(ranks: dict[str, RankArray], k: int) -> dict[str, float]:
    """Turn named rank arrays into mean HR@k and NDCG@k, named ``<name>_hr<k>``/``_ndcg<k>``."""
    out: dict[str, float] = {}
    for name, r in ranks.items():
        out[f"{name}_hr{k}"] = float(hit_rate(r, k).mean()) if len(r) else float("nan")
        out[f"{name}_ndcg{k}"] = float(ndcg(r, k).mean()) if len(r) else float("nan")
    return out


def pool_by_user(
    chunks: Mapping[str, Sequence[np.ndarray]], users_key: str
) -> dict[str, np.ndarray]:
    """Concatenate every node's per-user arrays and order them by user id.

    A mean over users is a floating-point sum, whose last bits depend on the order of its terms;
    in user order, the same run gives the same metrics whichever node replied first.

    Parameters
    ----------
    chunks : mapping of str to sequence of ndarray
        For each key, one array per node, aligned with the node's array under ``users_key``.
    users_key : str
        The key of the user ids.
    """
    pooled = {key: np.concatenate(parts) for key, parts in chunks.items()}
    order = np.argsort(pooled[users_key], kind="stable")
    return {key: values[order] for key, values in pooled.items()}
