"""What every aggregation rule provides to :class:`strategies.rows.RowStrategy`.

A rule turns the current global arrays and a round's inputs into the new global arrays. Linear
rules need only the (weighted) mean of the users' local arrays, which nodes can pre-sum; the
others need every user's sparse update (``needs_users``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from fedrec.aggregation.updates import UserUpdates


@dataclass(frozen=True)
class RoundInputs:
    """What the server knows of a round: the users' mean, and per-user updates if asked for.

    Attributes
    ----------
    mean : dict of str to np.ndarray
        ``Σ_u w_u x_u / Σ_u w_u`` for every global array ``x``.
    users : dict of str to UserUpdates
        Every valid user's sparse update of each 2-D global array (empty unless
        ``needs_users``).
    """

    mean: dict[str, np.ndarray]
    users: dict[str, UserUpdates]


class Rule(Protocol):
    """An aggregation rule (see the module docstring)."""

    needs_users: bool
    proximal_mu: float

    def aggregate(self, name: str, current: np.ndarray, inputs: RoundInputs) -> np.ndarray:
        """Return the new value of global array ``name``."""
        ...

    def state(self) -> dict[str, Any]:
        """Return what must survive a checkpoint (JSON-serialisable)."""
        ...

    def load_state(self, state: dict[str, Any], shapes: dict[str, tuple[int, ...]]) -> None:
        """Restore :meth:`state`."""
        ...


class Stateless:
    """Mixin for rules with nothing to checkpoint and no client proximal term."""

    proximal_mu = 0.0

    def state(self) -> dict[str, Any]:
        """Return an empty state."""
        return {}

    def load_state(self, state: dict[str, Any], shapes: dict[str, tuple[int, ...]]) -> None:
        """Nothing to restore."""


def users_of(inputs: RoundInputs, name: str) -> UserUpdates:
    """Return the per-user updates of ``name``, or fail clearly if the nodes sent only sums."""
    if name not in inputs.users:
        raise ValueError(f"this strategy needs per-user updates of '{name}', and none came")
    return inputs.users[name]


@runtime_checkable
class TalksToClients(Protocol):
    """A rule that also sends settings to the clients and reports per-round metrics (DP)."""

    def client_config(self) -> dict[str, float]:
        """Return extra entries of the training config sent to every node this round."""
        ...

    def round_metrics(self) -> dict[str, float]:
        """Return metrics of the last aggregation, recorded in the round's record."""
        ...
