"""One user on one device: FedRAP's local round and evaluation over durable private state.

The maths is the simulation's: :func:`~fedrec.algorithms.fedrap.cohort.train_cohort` and
:func:`~fedrec.algorithms.fedrap.evaluate.cohort_ranks` on a cohort of one user. Only the
bookkeeping differs: D is held densely (one user's D is small), and the state is loaded from and
saved to the device's state folder around every message, since Flower starts a fresh ClientApp
process for each message and the device may be switched off at any time.

Every device draws its negatives, shuffles and participation from its own random key (kept in its
state), so no two devices share draws, and a restarted device repeats none.
"""

from __future__ import annotations

import dataclasses
import resource
import secrets
import time
from pathlib import Path

import numpy as np
import torch

from fedrec.algorithms import create_algorithm
from fedrec.algorithms.base import NodeUpdate
from fedrec.algorithms.fedrap.algorithm import FedRAP
from fedrec.algorithms.fedrap.cohort import RoundSettings, sum_global_updates, train_cohort
from fedrec.algorithms.fedrap.curriculum import round_learning_rates, round_weights
from fedrec.algorithms.fedrap.evaluate import cohort_ranks
from fedrec.algorithms.fedrap.node import ITEM_GLOBAL
from fedrec.algorithms.fedrap.samples import build_round_samples
from fedrec.algorithms.participation import participants
from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray, SplitData
from fedrec.deploy.state import DeviceState, StateIdentity, load_state, save_state
from fedrec.deploy.userfile import seen_items, user_split
from fedrec.models.fedrap import initial_state
from fedrec.state.private import PrivateState, TouchedState
from fedrec.wire import RANK_KEYS, USERS

_ME = np.zeros(1, dtype=np.int64)  # the only user of a one-user split


class Device:
    """A device hosting one user: its data file and its state folder.

    Parameters
    ----------
    data_file : Path
        The user's interaction file (see :mod:`fedrec.deploy.userfile`).
    state_dir : Path
        Where the user's private state lives.
    cfg : ExperimentConfig
        The run's config; ``deployment.n_items`` is the catalogue size.
    """

    def __init__(self, data_file: Path, state_dir: Path, cfg: ExperimentConfig) -> None:
        algorithm = create_algorithm(cfg)
        if not isinstance(algorithm, FedRAP):
            raise ValueError(f"algorithm '{cfg.algorithm}' cannot run on a device")
        self.cfg = algorithm.cfg  # FedMF is FedRAP with its variant settings applied
        self.data_file, self.state_dir = data_file, state_dir
        fed = self.cfg.fedrap
        n_items = cfg.deployment.n_items
        self.identity = StateIdentity(n_items, fed.dim, cfg.seed, fed.variant)

    def open_state(self) -> DeviceState:
        """Load the saved state, or create, save and return the initial one."""
        state = load_state(self.state_dir, self.identity)
        if state is not None:
            return state
        ident = self.identity
        local_std = self.cfg.fedrap.local_init_std
        init = initial_state(ident.n_items, ident.dim, ident.seed, ident.variant, local_std)
        state = DeviceState(
            identity=ident,
            item_local=init.item_local.numpy(),
            head_weight=init.head_weight.numpy(),
            head_bias=init.head_bias.numpy(),
            item_global=init.item_global.numpy(),
            seen=np.zeros(0, dtype=np.int64),
            sample_key=secrets.randbits(62),
        )
        state.seen = seen_items(self.split(state))  # checks the data file before any save
        save_state(self.state_dir, state, {"event": "init", "round": 0})
        return state

    def split(self, state: DeviceState) -> SplitData:
        """Return the user's leave-one-out split (evaluation negatives from its own key)."""
        data = self.cfg.data
        return user_split(
            self.data_file,
            self.identity.n_items,
            data.min_interactions,
            data.eval_negatives,
            state.sample_key,
        )

    def train(self, item_global: torch.Tensor, server_round: int) -> NodeUpdate:
        """Train the user on ``item_global`` (C) for one round, save, return its contribution."""
        start = time.perf_counter()
        state = self.open_state()
        split = self.split(state)
        draws = dataclasses.replace(self.cfg, seed=state.sample_key)
        users, dropped = participants(_ME, 1, draws, server_round)
        if len(users) == 0:
            return _no_update(item_global, dropped, time.perf_counter() - start)
        keys = (state.sample_key, server_round)
        samples = build_round_samples(
            split, users, self.cfg.protocol, self.cfg.fedrap.num_negatives, keys
        )
        rows = samples.row_item.numpy()
        touched = TouchedState(
            torch.from_numpy(state.item_local[rows]),
            torch.from_numpy(state.head_weight[None].copy()),
            torch.from_numpy(state.head_bias.copy()),
        )
        update = train_cohort(touched, item_global, samples, self.cfg.fedrap, self._settings(keys))
        counts = samples.user_count.to(item_global.dtype)
        weights = counts if self.cfg.federation.aggregation == "weighted" else torch.ones(1)
        contribution = sum_global_updates(item_global, update, weights)
        _apply(state, touched, float(update.local_scale[0]), rows)
        state.item_global = item_global.numpy()
        state.seen = seen_items(split)
        state.trained_round = server_round
        seconds = time.perf_counter() - start
        loss, epochs = float(update.loss[0]), int(update.epochs[0])
        event = {"event": "train", "round": server_round, "loss": loss, "epochs": epochs}
        save_state(self.state_dir, state, {**event, **_usage(seconds)})
        return NodeUpdate(
            sums={ITEM_GLOBAL: contribution},
            weight_sum=float(weights.sum()),
            num_users=1,
            num_examples=int(counts.sum()),
            num_dropped=dropped,
            loss_sum=loss,
            epochs_sum=epochs,
            train_seconds=seconds,
        )

    def evaluate(self, item_global: torch.Tensor, server_round: int) -> dict[str, IntArray]:
        """Rank the user's held-out items under C + D; keep C as the newest global view."""
        state = self.open_state()
        private = PrivateState(
            torch.from_numpy(state.item_local[None]),
            torch.from_numpy(state.head_weight[None]),
            torch.from_numpy(state.head_bias),
        )
        ranks = cohort_ranks(private, item_global, self.split(state), _ME, self.cfg.eval.score)
        state.item_global = item_global.numpy()
        save_state(self.state_dir, state, {"event": "global", "round": server_round})
        out = {key: ranks[key].numpy().astype(np.int64) for key in RANK_KEYS}
        out[USERS] = _ME  # devices share no user ids
        return out

    def _settings(self, keys: tuple[int, int]) -> RoundSettings:
        fed, server_round = self.cfg.fedrap, keys[1]
        lam, mu = round_weights(fed, server_round)
        lr_head, lr_emb = round_learning_rates(fed, server_round)
        return RoundSettings(lam=lam, mu=mu, lr_head=lr_head, lr_embedding=lr_emb, keys=keys)


def _apply(state: DeviceState, touched: TouchedState, scale: float, rows: IntArray) -> None:
    """Write a round's result into the dense state: decay of every row, then the trained rows."""
    local = state.item_local * np.float32(scale)
    local[rows] = touched.local_rows.numpy()
    state.item_local = local
    state.head_weight = touched.head_weight[0].numpy()
    state.head_bias = touched.head_bias.numpy()


def _no_update(item_global: torch.Tensor, dropped: int, seconds: float) -> NodeUpdate:
    return NodeUpdate(
        sums={ITEM_GLOBAL: torch.zeros_like(item_global)},
        weight_sum=0.0,
        num_users=0,
        num_examples=0,
        num_dropped=dropped,
        loss_sum=0.0,
        epochs_sum=0,
        train_seconds=seconds,
    )


def _usage(seconds: float) -> dict[str, float]:
    """Return the round's seconds and this process's peak RSS so far (Linux: KiB)."""
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"train_seconds": seconds, "peak_rss_mb": peak_kib / 1024}
