"""Fake users with crafted interactions, and model-poisoning clients that scale their update.

The attacker promotes one target item (by default an unpopular one, chosen by the seed). It
adds ``n_fake`` users whose training interactions are the target plus popular filler items
(a bandwagon profile); they train like any client. Under ``model_poisoning`` they then replace
their update ``C_u − G`` by ``boost · (C_u − G)`` (a model-replacement attack), which in the
sparse form is ``s_u ← 1 + b(s_u − 1)`` and ``C_u[rows] ← G[rows] + b(C_u[rows] − G[rows])``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fedrec.config.strategy import AttackConfig
from fedrec.data.csr import offsets
from fedrec.data.types import IntArray, SplitData

#: Kinds that add fake users, and whether those users scale their update.
_SCALES_UPDATE = {"fake_users": False, "model_poisoning": True}


def attack_active(cfg: AttackConfig) -> bool:
    """Return whether fake users are added (a kind other than ``none`` and a fraction > 0)."""
    return cfg.kind in _SCALES_UPDATE and cfg.fraction > 0


def fake_count(n_real: int, fraction: float) -> int:
    """Return how many fake users make them ``fraction`` of all clients."""
    return round(fraction * n_real / (1 - fraction))


def target_item(split: SplitData, cfg: AttackConfig, seed: int) -> int:
    """Return the configured target, or one drawn among the 50–75 % least popular quarter.

    The draw uses the real users' training interactions only, so the target is the same with
    and without fake users.
    """
    if cfg.target_item >= 0:
        return cfg.target_item
    n_real = split.n_users - split.n_fake
    counts = np.bincount(split.train_items[: split.train_indptr[n_real]], minlength=split.n_items)
    order = np.argsort(-counts, kind="stable")
    candidates = order[split.n_items // 2 : max(split.n_items // 2 + 1, 3 * split.n_items // 4)]
    return int(np.random.default_rng([seed, 4]).choice(candidates))


def poison_split(split: SplitData, cfg: AttackConfig, seed: int) -> SplitData:
    """Return ``split`` with the attacker's fake users appended (unchanged without an attack)."""
    if not attack_active(cfg) or split.n_fake:
        return split
    n_fake = fake_count(split.n_users, cfg.fraction)
    target = target_item(split, cfg, seed)
    counts = split.train_counts()
    filler = cfg.filler or int(np.median(counts))
    popularity = np.bincount(split.train_items, minlength=split.n_items).astype(np.float64)
    popularity[target] = 0
    rng = np.random.default_rng([seed, 5, n_fake])
    train, held = [], []
    k = split.eval_negatives.shape[1]
    negatives = []
    for _ in range(n_fake):
        picked = rng.choice(
            split.n_items, filler + 2, replace=False, p=popularity / popularity.sum()
        )
        train.append(np.sort(np.append(picked[:filler], target)))
        held.append(picked[filler:])
        unseen = np.setdiff1d(np.arange(split.n_items), np.append(picked, target))
        negatives.append(rng.choice(unseen, k, replace=False))
    fake_counts = np.array([len(t) for t in train], dtype=np.int64)
    return dataclasses.replace(
        split,
        n_users=split.n_users + n_fake,
        train_indptr=offsets(np.concatenate([counts, fake_counts])),
        train_items=np.concatenate([split.train_items, *train]).astype(np.int64),
        val_items=np.concatenate([split.val_items, [h[0] for h in held]]).astype(np.int64),
        test_items=np.concatenate([split.test_items, [h[1] for h in held]]).astype(np.int64),
        eval_negatives=np.concatenate([split.eval_negatives, np.array(negatives).reshape(-1, k)]),
        n_fake=n_fake,
    )


def boost_factor(cfg: AttackConfig, n_clients: int, n_fake: int) -> float:
    """Return the update scale of model-poisoning users (1: they do not scale)."""
    if not _SCALES_UPDATE.get(cfg.kind, False) or n_fake == 0:
        return 1.0
    return cfg.boost or n_clients / n_fake


def scale_updates(
    users: IntArray,
    split: SplitData,
    boost: float,
    scales: np.ndarray,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Scale the fake users' updates by ``boost``; return new (scales, row values).

    Parameters
    ----------
    users : IntArray
        Global ids of the cohort, ``(U,)``.
    split : SplitData
        The poisoned split (its last ``n_fake`` users are fake).
    boost : float
        The factor ``b`` on ``C_u − G``.
    scales : np.ndarray
        ``(U,)`` untouched-row factors ``s_u``.
    rows : tuple of np.ndarray
        ``(row_user, global rows G[row_item], values C_u[row_item])``.
    """
    fake = users >= split.n_users - split.n_fake
    if boost == 1.0 or not fake.any():
        return scales, rows[2]
    row_user, base, values = rows
    new_scales = np.where(fake, 1 + boost * (scales - 1), scales)
    hit = fake[row_user]
    new_values = values.copy()
    new_values[hit] = base[hit] + boost * (values[hit] - base[hit])
    return new_scales, new_values
