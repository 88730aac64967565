"""The server keeps what it saw of one round's uploads, for ``fedrec audit``."""

from __future__ import annotations

import logging

import numpy as np
from flwr.app import Message

from fedrec import wire
from fedrec.aggregation.codec import SEP
from fedrec.aggregation.updates import UserUpdates
from fedrec.audit.record import RecordedRound, save_round
from fedrec.results import RunFolder
from strategies.replies import reply_problem, user_updates

log = logging.getLogger(__name__)


def record_uploads(
    run: RunFolder, server_round: int, replies: list[Message], current: dict[str, np.ndarray]
) -> None:
    """Save every per-user upload of the round's replies with the users' ids and ``G``."""
    shapes = {k: tuple(v.shape) for k, v in current.items()}
    (name,) = (k for k, v in current.items() if v.ndim == 2)
    parts, ids = [], []
    for msg in replies:
        if reply_problem(msg, shapes) is not None:
            continue
        key = f"{wire.UPDATES_PREFIX}{name}{SEP}{wire.USER_IDS}"
        arrays = msg.content.array_records[wire.ARRAYS]
        if key not in arrays:
            continue
        parts.append(user_updates(msg, shapes)[name])
        ids.append(arrays[key].numpy())
    if not parts:
        log.warning("round %d: no per-user upload to record", server_round)
        return
    updates = UserUpdates.concat(parts, shapes[name][1])
    save_round(run.path, RecordedRound(server_round, current[name], updates, np.concatenate(ids)))
