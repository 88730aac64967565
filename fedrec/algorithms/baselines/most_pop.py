"""MostPop: every user gets the same ranking, by how many users interacted with each item.

Federated: each participant uploads its 0/1 row of training interactions; the server's mean of
those rows is the item popularity (a count divided by the number of participants, so the ranking
is the count's). Each user then ranks its own unseen items by it.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from fedrec.algorithms.base import DEFAULT_OPTIONS, GlobalArrays, NodeData, NodeUpdate, TrainOptions
from fedrec.algorithms.participation import participants
from fedrec.algorithms.ranks import collect_ranks, rank_held_out
from fedrec.config.schema import ExperimentConfig
from fedrec.data.csr import concat_ranges
from fedrec.data.types import IntArray, SplitData

POPULARITY = "item-popularity"


class MostPop:
    """Item popularity learned from the clients' aggregated interaction indicators.

    Parameters
    ----------
    cfg : ExperimentConfig
        The experiment (participation and dropout apply as for any algorithm).
    """

    def __init__(self, cfg: ExperimentConfig) -> None:
        self.cfg = cfg

    def initial_global(self, split: SplitData) -> dict[str, np.ndarray]:
        """Return an all-zero popularity vector."""
        return {POPULARITY: np.zeros(split.n_items, dtype=np.float32)}

    def train_node(
        self,
        node: NodeData,
        arrays: GlobalArrays,
        server_round: int,
        options: TrainOptions = DEFAULT_OPTIONS,
    ) -> NodeUpdate:
        """Sum the participants' training-interaction indicators per item."""
        start = time.perf_counter()
        split = node.split
        users, dropped = participants(node.hosted, split.n_users, self.cfg, server_round)
        counts = split.train_indptr[users + 1] - split.train_indptr[users]
        items = split.train_items[concat_ranges(split.train_indptr[users], counts)]
        total = np.bincount(items, minlength=split.n_items).astype(np.float32)
        return NodeUpdate(
            sums={POPULARITY: torch.from_numpy(total)},
            weight_sum=float(len(users)),
            num_users=len(users),
            num_examples=int(counts.sum()),
            num_dropped=dropped,
            loss_sum=0.0,
            epochs_sum=0,
            train_seconds=time.perf_counter() - start,
        )

    def evaluate_node(self, node: NodeData, arrays: GlobalArrays) -> dict[str, IntArray]:
        """Rank every hosted user's held-out items by global popularity."""
        popularity = arrays[POPULARITY]

        def rank(cohort: IntArray) -> dict[str, torch.Tensor]:
            scores = popularity.unsqueeze(0).expand(len(cohort), -1)
            return rank_held_out(scores, node.split, cohort)

        return collect_ranks(node.hosted, 1024, rank)
