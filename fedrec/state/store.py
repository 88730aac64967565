"""Private per-user state of the users one node hosts, kept outside Flower's messages.

Flower ships a node's ``Context.state`` to the Ray actor and back with every message, so large
per-user tensors would be copied twice per round. This store keeps them in memory-mapped files
under the run folder instead: any actor process that serves the node opens the same files, the
page cache keeps them in RAM while they fit, and they survive for the whole run.

Users never trained yet are not written: they read as the shared initial state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fedrec.algorithms.fedrap.cohort import PrivateState
from fedrec.data.types import IntArray
from fedrec.models.fedrap import InitialState


class ClientStateStore:
    """D, head weight and head bias of a fixed set of users, one memory-mapped file each.

    Parameters
    ----------
    folder : Path
        Where the files live (created if missing; reopened if present with the same shapes).
    users : IntArray
        Sorted global ids of the users this store holds.
    init : InitialState
        The shared initial tensors, returned for users not trained yet.
    """

    def __init__(self, folder: Path, users: IntArray, init: InitialState) -> None:
        self.users = np.asarray(users, dtype=np.int64)
        if np.any(np.diff(self.users) <= 0):
            raise ValueError("store users must be sorted and distinct")
        self.init = init
        n_items, dim = init.item_local.shape
        n = len(self.users)
        folder.mkdir(parents=True, exist_ok=True)
        self._local = _open(folder / "item_local.npy", (n, n_items, dim), np.float32)
        self._weight = _open(folder / "head_weight.npy", (n, dim), np.float32)
        self._bias = _open(folder / "head_bias.npy", (n,), np.float32)
        self._trained = _open(folder / "trained.npy", (n,), np.bool_)

    def slots(self, users: IntArray) -> IntArray:
        """Map global user ids to rows of the store; raise on users it does not hold."""
        slots = np.searchsorted(self.users, users)
        inside = slots < len(self.users)
        if not np.all(inside) or not np.array_equal(self.users[slots], users):
            raise KeyError("users not hosted by this store")
        return slots.astype(np.int64)

    def load(self, users: IntArray) -> PrivateState:
        """Return a writable copy of the users' private tensors."""
        slots = self.slots(users)
        trained = torch.from_numpy(self._trained[slots].copy())
        local = torch.from_numpy(self._local[slots])
        weight = torch.from_numpy(self._weight[slots])
        bias = torch.from_numpy(self._bias[slots])
        fresh = ~trained
        if bool(fresh.any()):
            local[fresh] = self.init.item_local
            weight[fresh] = self.init.head_weight
            bias[fresh] = self.init.head_bias
        return PrivateState(item_local=local, head_weight=weight, head_bias=bias)

    def save(self, users: IntArray, state: PrivateState) -> None:
        """Write the users' private tensors back and mark them trained."""
        slots = self.slots(users)
        self._local[slots] = state.item_local.numpy()
        self._weight[slots] = state.head_weight.numpy()
        self._bias[slots] = state.head_bias.numpy()
        self._trained[slots] = True

    def flush(self) -> None:
        """Push written pages to the files (they are also flushed when the store is dropped)."""
        for array in (self._local, self._weight, self._bias, self._trained):
            array.flush()


def _open(path: Path, shape: tuple[int, ...], dtype: type) -> np.memmap:
    if path.exists():
        array = np.load(path, mmap_mode="r+")
        if array.shape != shape or array.dtype != np.dtype(dtype):
            raise ValueError(
                f"{path}: holds {array.shape} {array.dtype}, expected {shape} {np.dtype(dtype)}"
            )
        return array  # type: ignore[no-any-return]
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
