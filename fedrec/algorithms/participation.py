"""Which users a node hosts, which of them take part in a round, and cohorts of them.

Every draw is a function of (seed, round, user), so no node needs to talk to another and a
user's fate does not depend on how users are spread over nodes.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray
from fedrec.rng import Stream, uniform


def hosted_users(n_users: int, partition: int, num_partitions: int) -> IntArray:
    """Return the contiguous slice of users a simulated node owns."""
    if not 0 <= partition < num_partitions:
        raise ValueError(f"partition {partition} outside 0..{num_partitions - 1}")
    lo = partition * n_users // num_partitions
    hi = (partition + 1) * n_users // num_partitions
    return np.arange(lo, hi, dtype=np.int64)


def participants(
    users: IntArray, n_population: int, cfg: ExperimentConfig, server_round: int
) -> tuple[IntArray, int]:
    """Return the hosted users who take part in ``server_round`` and send an update.

    Sampling is exact when ``clients_per_round`` is set (the users with the smallest draws in
    the whole population), else each user takes part with probability ``participation``; a
    sampled user then drops out with probability ``dropout`` (it trains and sends nothing).
    Every draw is a function of (seed, round, user), so no node needs to talk to another.

    Returns
    -------
    tuple of (IntArray, int)
        The users that train, and the number of sampled users that dropped out.
    """
    fed, seed = cfg.federation, cfg.seed
    if fed.clients_per_round > 0:
        k = min(fed.clients_per_round, n_population)
        draws = uniform(seed, Stream.PARTICIPATION, server_round, np.arange(n_population))
        cutoff = np.partition(draws, k - 1)[k - 1]
        sampled = users[draws[users] <= cutoff]
    elif fed.participation < 1.0:
        sampled = users[
            uniform(seed, Stream.PARTICIPATION, server_round, users) < fed.participation
        ]
    else:
        sampled = users
    if fed.dropout <= 0.0:
        return sampled, 0
    stays = uniform(seed, Stream.DROPOUT, server_round, sampled) >= fed.dropout
    return sampled[stays], int((~stays).sum())


def cohorts(users: IntArray, size: int) -> Iterator[IntArray]:
    """Split users into consecutive cohorts of at most ``size``."""
    for start in range(0, len(users), size):
        yield users[start : start + size]
