"""Checking and unpacking training replies: node sums or per-user sparse updates.

A reply that cannot be used (a client error, missing records, unexpected arrays, a wrong shape,
NaN/Inf, a negative weight, an undecodable sparse part) is dropped with its reason; inside a
per-user reply, a single user's bad update is dropped and the rest of the node's users kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from flwr.app import Message

from fedrec import wire
from fedrec.aggregation.codec import SEP
from fedrec.aggregation.updates import UserUpdates


@dataclass
class Collected:
    """What the valid replies of a round add up to."""

    totals: dict[str, np.ndarray] = field(default_factory=dict)  # Σ "sum:x" (float64)
    users: dict[str, list[UserUpdates]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)  # the valid ones


def reply_problem(msg: Message, shapes: dict[str, tuple[int, ...]]) -> str | None:
    """Return why a training reply cannot be used at all, or ``None``."""
    if msg.has_error():
        return f"client error: {msg.error.reason}"
    content = msg.content
    if wire.ARRAYS not in content.array_records or wire.METRICS not in content.metric_records:
        return "missing arrays or metrics record"
    metrics = content.metric_records[wire.METRICS]
    if wire.WEIGHT_SUM not in metrics:
        return "missing weight-sum"
    weight = wire.scalar(metrics[wire.WEIGHT_SUM])
    if not np.isfinite(weight) or weight < 0:
        return "non-finite or negative weight"
    keys = set(content.array_records[wire.ARRAYS].keys())
    sums = {wire.SUM_PREFIX + k for k in shapes}
    if keys == sums:
        return _sums_problem(msg, shapes)
    updates = {k for k in keys if k.startswith(wire.UPDATES_PREFIX)}
    names = {k.removeprefix(wire.UPDATES_PREFIX).rpartition(SEP)[0] for k in updates}
    if updates != keys or not names <= set(shapes):
        return f"unexpected arrays {sorted(keys)}, expected {sorted(sums)} or per-user updates"
    return None


def _sums_problem(msg: Message, shapes: dict[str, tuple[int, ...]]) -> str | None:
    arrays = msg.content.array_records[wire.ARRAYS]
    for name, shape in shapes.items():
        value = arrays[wire.SUM_PREFIX + name].numpy()
        if tuple(value.shape) != shape:
            return f"{wire.SUM_PREFIX + name}: shape {tuple(value.shape)} != expected {shape}"
        if not np.isfinite(value).all():
            return f"{wire.SUM_PREFIX + name}: non-finite values"
    return None


def user_updates(msg: Message, shapes: dict[str, tuple[int, ...]]) -> dict[str, UserUpdates]:
    """Decode a per-user reply; raises ``ValueError`` if a part is inconsistent."""
    arrays = msg.content.array_records[wire.ARRAYS]
    parts: dict[str, dict[str, np.ndarray]] = {}
    for key in arrays:
        name, _, part = key.removeprefix(wire.UPDATES_PREFIX).rpartition(SEP)
        parts.setdefault(name, {})[part] = arrays[key].numpy()
    out = {}
    for name, arrays_of in parts.items():
        n_items, dim = shapes[name]
        out[name] = UserUpdates.from_arrays(arrays_of, n_items, dim)
    return out


def collect(replies: list[Message], shapes: dict[str, tuple[int, ...]]) -> Collected:
    """Check every reply and gather the usable sums and per-user updates."""
    out = Collected()
    for msg in replies:
        node = msg.metadata.src_node_id
        problem = reply_problem(msg, shapes)
        if problem is None and _is_sums(msg):
            _add_sums(out, msg, shapes)
            continue
        if problem is None:
            try:
                decoded = user_updates(msg, shapes)
            except ValueError as exc:
                problem = f"undecodable update: {exc}"
        if problem is not None:
            out.rejected.append(f"node {node}: {problem}")
            continue
        for name, updates in decoded.items():
            out.users.setdefault(name, []).append(_drop_bad_users(updates, node, out.rejected))
        out.messages.append(msg)
    return out


def _is_sums(msg: Message) -> bool:
    keys = msg.content.array_records[wire.ARRAYS].keys()
    return all(k.startswith(wire.SUM_PREFIX) for k in keys)


def _add_sums(out: Collected, msg: Message, shapes: dict[str, tuple[int, ...]]) -> None:
    arrays = msg.content.array_records[wire.ARRAYS]
    for name in shapes:
        value = arrays[wire.SUM_PREFIX + name].numpy().astype(np.float64)
        out.totals[name] = out.totals[name] + value if name in out.totals else value
    out.messages.append(msg)


def _drop_bad_users(updates: UserUpdates, node: int, rejected: list[str]) -> UserUpdates:
    bad = updates.bad_users()
    if not bad:
        return updates
    keep = np.ones(updates.n_users, dtype=bool)
    for user, reason in bad.items():
        keep[user] = False
        rejected.append(f"node {node}, user {user}: {reason}")
    return updates.select(keep)
