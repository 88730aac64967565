"""A latent-factor generator of implicit feedback with popularity skew, for tests and demos."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fedrec.data.csr import offsets
from fedrec.data.types import FloatArray, IntArray, Interactions

if TYPE_CHECKING:
    from fedrec.config.schema import SyntheticConfig

MIN_INTERACTIONS = 10
# Scales user·item affinities (std ~ 1/sqrt(dim)) so that preferences matter next to popularity.
TEMPERATURE = 5.0
# Scores per (user, item) are drawn this many at a time.
_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class SyntheticSpec:
    """Sizes and seed of a synthetic dataset; hashable, so it can key a cache.

    Parameters
    ----------
    n_users, n_items : int
        Sizes of the id spaces.
    mean_interactions : float
        Mean interactions per user (at least 10).
    popularity_skew : float
        Zipf exponent of item popularity; 0 means no popularity effect.
    seed : int
        Generator seed.
    dim : int
        Latent dimension.
    """

    n_users: int = 200
    n_items: int = 300
    mean_interactions: float = 20
    popularity_skew: float = 1.0
    seed: int = 0
    dim: int = 8

    @classmethod
    def from_config(cls, syn: SyntheticConfig, seed: int) -> SyntheticSpec:
        """Return the spec of a config's ``data.synthetic`` section and run seed."""
        return cls(
            n_users=syn.n_users,
            n_items=syn.n_items,
            mean_interactions=syn.mean_interactions,
            popularity_skew=syn.popularity_skew,
            seed=seed,
        )

    def generate(self) -> Interactions:
        """Return the interactions this spec describes."""
        return synthetic_interactions(
            self.n_users,
            self.n_items,
            mean_interactions=self.mean_interactions,
            dim=self.dim,
            popularity_skew=self.popularity_skew,
            seed=self.seed,
        )


def synthetic_interactions(
    n_users: int,
    n_items: int,
    mean_interactions: float = 20,
    dim: int = 8,
    popularity_skew: float = 1.0,
    seed: int = 0,
) -> Interactions:
    """Generate implicit interactions from latent factors and Zipf-like item popularity.

    User and item factors are ``N(0, 1) / sqrt(dim)``; item popularity follows a Zipf law with
    exponent ``popularity_skew`` over a random ranking of the items. Each user draws
    ``10 + Poisson(mean_interactions - 10)`` distinct items (capped at ``n_items``) with
    probability proportional to ``softmax(TEMPERATURE * user·item + log popularity)``, without
    replacement (Gumbel-top-k). Timestamps increase per user in a random order of its items;
    ratings are 1. Rows are grouped by user in time order.

    Parameters
    ----------
    n_users, n_items : int
        Sizes of the id spaces; ``n_items`` must be at least 10.
    mean_interactions : float, default 20
        Mean interactions per user.
    dim : int, default 8
        Latent dimension.
    popularity_skew : float, default 1.0
        Zipf exponent of item popularity.
    seed : int, default 0
        Seed for ``np.random.default_rng``; equal seeds give equal data.

    Returns
    -------
    Interactions
        Interactions with labels ``"0".."n-1"``.
    """
    if n_users < 1 or n_items < MIN_INTERACTIONS:
        raise ValueError(f"need n_users >= 1 and n_items >= {MIN_INTERACTIONS}")
    rng = np.random.default_rng(seed)
    user_f = rng.standard_normal((n_users, dim)) / np.sqrt(dim)
    item_f = rng.standard_normal((n_items, dim)) / np.sqrt(dim)
    log_pop = -popularity_skew * np.log(rng.permutation(n_items) + 1.0)
    extra = max(mean_interactions - MIN_INTERACTIONS, 0.0)
    counts = np.minimum(MIN_INTERACTIONS + rng.poisson(extra, n_users), n_items).astype(np.int64)
    chunk = max(1, _CHUNK_ELEMENTS // n_items)
    items = np.concatenate(
        [
            _top_k_items(rng, user_f[s : s + chunk] @ item_f.T, log_pop, counts[s : s + chunk])
            for s in range(0, n_users, chunk)
        ]
    )
    users = np.repeat(np.arange(n_users, dtype=np.int64), counts)
    # Shuffle each user's items so that time order is unrelated to preference order.
    order = np.lexsort((rng.random(len(items)), users))
    return Interactions(
        users=users,
        items=items[order],
        timestamps=_increasing_times(rng, counts),
        ratings=np.ones(len(items)),
        user_labels=[str(u) for u in range(n_users)],
        item_labels=[str(i) for i in range(n_items)],
    )


def _top_k_items(
    rng: np.random.Generator,
    affinity: FloatArray,
    log_pop: FloatArray,
    counts: IntArray,
) -> IntArray:
    """Sample ``counts[u]`` distinct items per row without replacement via Gumbel-top-k."""
    scores = TEMPERATURE * affinity + log_pop + rng.gumbel(size=affinity.shape)
    k = int(counts.max())
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), axis=1), 1)
    return top[np.arange(k) < counts[:, None]].astype(np.int64)


def _increasing_times(rng: np.random.Generator, counts: IntArray) -> FloatArray:
    """Return per-user strictly increasing times: a random start plus exponential gaps."""
    gaps = rng.exponential(3600.0, int(counts.sum())) + 1.0
    cum = np.cumsum(gaps)
    starts = offsets(counts)[:-1]
    base = np.repeat(cum[starts] - gaps[starts], counts)
    origin = np.repeat(rng.uniform(0.0, 1e6, len(counts)), counts)
    return origin + cum - base
