"""Random: every user scores every item uniformly at random (the floor of any comparison).

Scores are a hash of (seed, user, item), so they do not change between rounds or node layouts.
It trains nothing; the server's global array is a placeholder of one zero.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from fedrec.algorithms.base import DEFAULT_OPTIONS, GlobalArrays, NodeData, NodeUpdate, TrainOptions
from fedrec.algorithms.participation import participants
from fedrec.algorithms.ranks import collect_ranks, rank_held_out
from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray, SplitData
from fedrec.rng import Stream, uniform

PLACEHOLDER = "nothing"


class RandomScores:
    """Uniformly random scores.

    Parameters
    ----------
    cfg : ExperimentConfig
        The experiment (its seed fixes the scores).
    """

    def __init__(self, cfg: ExperimentConfig) -> None:
        self.cfg = cfg

    def initial_global(self, split: SplitData) -> dict[str, np.ndarray]:
        """Return the one-zero placeholder (a Flower round needs some array to send)."""
        return {PLACEHOLDER: np.zeros(1, dtype=np.float32)}

    def train_node(
        self,
        node: NodeData,
        arrays: GlobalArrays,
        server_round: int,
        options: TrainOptions = DEFAULT_OPTIONS,
    ) -> NodeUpdate:
        """Nothing to learn: report the participants so the round is accounted for."""
        start = time.perf_counter()
        users, dropped = participants(node.hosted, node.split.n_users, self.cfg, server_round)
        return NodeUpdate(
            sums={PLACEHOLDER: torch.zeros(1)},
            weight_sum=float(len(users)),
            num_users=len(users),
            num_examples=0,
            num_dropped=dropped,
            loss_sum=0.0,
            epochs_sum=0,
            train_seconds=time.perf_counter() - start,
        )

    def evaluate_node(self, node: NodeData, arrays: GlobalArrays) -> dict[str, IntArray]:
        """Rank every hosted user's held-out items by its random scores."""
        items = np.arange(node.split.n_items)

        def rank(cohort: IntArray) -> dict[str, torch.Tensor]:
            noise = uniform(self.cfg.seed, Stream.EVALUATION, cohort[:, None], items[None, :])
            return rank_held_out(torch.from_numpy(noise), node.split, cohort)

        return collect_ranks(node.hosted, 1024, rank)
