"""Counter-based random numbers: a pure function of (seed, stream, user, counter).

A user's negatives and batch order must not depend on which cohort or node trains it, nor on how
many other users share that cohort. Stateful generators cannot promise that; hashing the
coordinates of each draw can, and it vectorises over any number of users at once.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt

_U64 = np.uint64
_MASK53 = _U64((1 << 53) - 1)


class Stream(IntEnum):
    """Independent random streams; each use of randomness gets its own."""

    NEGATIVES = 1
    SHUFFLE = 2
    PARTICIPATION = 3
    DROPOUT = 4
    EVALUATION = 5


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        x = x + _U64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
        return x ^ (x >> _U64(31))


def hash64(*keys: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """Hash broadcastable integer key arrays into uniformly distributed 64-bit words.

    Parameters
    ----------
    *keys : array_like of int
        Coordinates of a draw (for example seed, stream, round, user, position); broadcast
        against each other.

    Returns
    -------
    numpy.ndarray of uint64
        One word per broadcast position.
    """
    arrays = [np.asarray(k).astype(np.int64).astype(np.uint64) for k in keys]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    # Elementwise, so leading scalar keys are mixed once rather than once per position.
    acc = np.zeros((), dtype=np.uint64)
    for arr in arrays:
        acc = _splitmix64(acc ^ arr)
    return np.array(np.broadcast_to(acc, shape))


def uniform(*keys: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return floats uniform on ``[0, 1)``, one per broadcast position of ``keys``."""
    words = hash64(*keys) >> _U64(11)
    return (words & _MASK53).astype(np.float64) / float(1 << 53)
