"""Private per-user state of the users one node hosts, kept outside Flower's messages.

Flower ships a node's ``Context.state`` to the Ray actor and back with every message, so large
per-user tensors would be copied twice per round. This store keeps them in ``.npy`` files under
the run folder instead; any actor process that serves the node opens the same files, and the
operating system's page cache keeps them in RAM while memory allows.

D is stored as ``D = scale · D'``: a round multiplies every row a user did not touch by one
factor (plain SGD weight decay), which becomes one multiplication of ``scale``. A round therefore
reads and writes only the rows it touched, never a user's whole D. Users never trained read as
the shared initial state and occupy no written pages.

D' may be stored in half precision (``federation.state_precision=float16``) to halve the store,
the largest thing a run keeps (2.9 GB in float32 for MovieLens-1M). Training still runs in
float32 on the rows it reads; each round rounds a written row once, to 11 significant bits.
A float16 D' is renormalised while its scale is still near 1, so D' stays about as large as D.

An algorithm without D (FedMF, FedNCF, FedRAP's no-D ablation) opens the store with
``keep_local=False``: it then holds the heads only, and D reads as zeros.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fedrec.data.types import IntArray
from fedrec.models.fedrap import InitialState
from fedrec.state.private import PrivateState, TouchedState

#: Renormalise a user's D' when its scale falls below this: for float32, before it underflows in
#: practice; for float16, while ``|D'| = |D| / scale`` stays far below float16's largest value.
_MIN_SCALE = {np.dtype(np.float32): 1e-30, np.dtype(np.float16): 1 / 16}


class ClientStateStore:
    """D, score head and D's scale for a fixed set of users, one ``.npy`` file each.

    Parameters
    ----------
    folder : Path
        Where the files live (created if missing; reopened if present with the same shapes).
    users : IntArray
        Sorted global ids of the users this store holds.
    init : InitialState
        The shared initial tensors, returned for users not trained yet.
    precision : str
        How D' is stored: ``"float32"`` (exact) or ``"float16"`` (half the bytes).
    keep_local : bool
        False for an algorithm that keeps no D: no D is stored (``init``'s D must be zero),
        and a round that changes D is refused.
    """

    def __init__(
        self,
        folder: Path,
        users: IntArray,
        init: InitialState,
        precision: str = "float32",
        keep_local: bool = True,
    ) -> None:
        self.users = np.asarray(users, dtype=np.int64)
        if np.any(np.diff(self.users) <= 0):
            raise ValueError("store users must be sorted and distinct")
        self.init = init
        self.folder = folder
        n_items, dim = init.item_local.shape
        n = len(self.users)
        folder.mkdir(parents=True, exist_ok=True)
        local_dtype = np.dtype(precision)
        if local_dtype not in _MIN_SCALE:
            raise ValueError(f"state precision must be float32 or float16, not {precision!r}")
        self._min_scale = _MIN_SCALE[local_dtype]
        if not keep_local and bool(init.item_local.any()):
            raise ValueError("a store without D needs a zero initial D")
        # Without D, the largest file of the store (n · n_items · dim) is never created.
        self._local = (
            _open(folder / "item_local.npy", (n, n_items, dim), local_dtype) if keep_local else None
        )
        self._scale = _open(folder / "item_local_scale.npy", (n,), np.float64)
        width = init.head_weight.shape[-1]  # affine head weight, or a model's private part
        self._weight = _open(folder / "head_weight.npy", (n, width), np.float32)
        self._bias = _open(folder / "head_bias.npy", (n,), np.float32)
        self._trained = _open(folder / "trained.npy", (n,), np.bool_)

    def slots(self, users: IntArray) -> IntArray:
        """Map global user ids to rows of the store; raise on users it does not hold."""
        slots = np.searchsorted(self.users, users)
        inside = slots < len(self.users)
        if not np.all(inside) or not np.array_equal(self.users[slots], users):
            raise KeyError("users not hosted by this store")
        return slots.astype(np.int64)

    def touched(self, users: IntArray, row_user: IntArray, row_item: IntArray) -> TouchedState:
        """Return D on the given (local user index, item) rows, and the users' heads."""
        slots = self.slots(users)
        trained = self._trained[slots]
        # Users never trained are not read from the file: their pages were never written.
        rows = self.init.item_local.numpy()[row_item]
        old = np.flatnonzero(trained[row_user])
        if len(old) and self._local is not None:
            owner = slots[row_user[old]]
            rows[old] = self._local[owner, row_item[old]] * self._scale[owner, None].astype(
                np.float32
            )
        weight, bias = self._heads(slots, trained)
        return TouchedState(torch.from_numpy(rows), weight, bias)

    def update(
        self,
        users: IntArray,
        row_user: IntArray,
        row_item: IntArray,
        state: TouchedState,
        untouched_scale: torch.Tensor,
    ) -> None:
        """Store a round's result: trained rows, heads, and the decay of every other row."""
        slots = self.slots(users)
        if self._local is None:
            if bool(state.local_rows.any()):
                raise ValueError("this store keeps no D, but a round changed D's rows")
        else:
            self._update_local(self._local, slots, (row_user, row_item), state, untouched_scale)
        self._weight[slots] = state.head_weight.numpy()
        self._bias[slots] = state.head_bias.numpy()
        self._trained[slots] = True

    def _update_local(
        self,
        local: np.memmap,
        slots: IntArray,
        rows: tuple[IntArray, IntArray],
        state: TouchedState,
        untouched_scale: torch.Tensor,
    ) -> None:
        row_user, row_item = rows
        fresh = ~self._trained[slots]
        if fresh.any():
            local[slots[fresh]] = self.init.item_local.numpy()
            self._scale[slots[fresh]] = 1.0
        scale = self._scale[slots] * untouched_scale.numpy().astype(np.float64)
        tiny = scale < self._min_scale
        if tiny.any():
            local[slots[tiny]] *= scale[tiny, None, None].astype(np.float32)
            scale[tiny] = 1.0
        self._scale[slots] = scale
        values = state.local_rows.numpy() / scale[row_user, None].astype(np.float32)
        _check_representable(values, local.dtype)
        local[slots[row_user], row_item] = values

    def replace_local(self, users: IntArray, local: torch.Tensor) -> None:
        """Overwrite the users' whole D, ``(U, n_items, dim)``; call after :meth:`update`.

        For algorithms whose private item table is the user's own trained copy (PFedRec).
        """
        if self._local is None:
            raise ValueError("this store keeps no D to replace")
        slots = self.slots(users)
        self._local[slots] = local.numpy()
        self._scale[slots] = 1.0
        self._trained[slots] = True

    def load(self, users: IntArray) -> PrivateState:
        """Return the users' dense private state (for evaluation)."""
        slots = self.slots(users)
        trained = self._trained[slots]
        weight, bias = self._heads(slots, trained)
        if self._local is None:
            zero = torch.zeros(()).expand(len(slots), *self.init.item_local.shape)
            return PrivateState(zero, weight, bias, has_local=False)
        # One pass over the stored D' (users are mostly a contiguous run of slots): scale into
        # a fresh float32 block, then put the shared initial D where a user never trained.
        local = np.empty((len(slots), *self.init.item_local.shape), dtype=np.float32)
        scale = self._scale[slots].astype(np.float32)[:, None, None]
        np.multiply(_rows(self._local, slots), scale, out=local)
        fresh = ~trained
        if fresh.any():
            local[fresh] = self.init.item_local.numpy()
        return PrivateState(item_local=torch.from_numpy(local), head_weight=weight, head_bias=bias)

    def _heads(self, slots: IntArray, trained: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        weight = torch.from_numpy(np.array(self._weight[slots], dtype=np.float32))
        bias = torch.from_numpy(np.array(self._bias[slots], dtype=np.float32))
        fresh = torch.from_numpy(~trained)
        weight[fresh] = self.init.head_weight
        bias[fresh] = self.init.head_bias
        return weight, bias

    def flush(self) -> None:
        """Push written pages to the files (they are also flushed when the store is dropped)."""
        for array in (self._local, self._scale, self._weight, self._bias, self._trained):
            if array is not None:
                array.flush()


def _rows(array: np.memmap, slots: IntArray) -> np.ndarray:
    """Return ``array[slots]``: a view when the slots are one contiguous run, else a copy."""
    if len(slots) and np.all(np.diff(slots) == 1):
        return array[slots[0] : slots[-1] + 1]
    return array[slots]


def _check_representable(values: np.ndarray, dtype: np.dtype) -> None:
    """Refuse to store values a float16 D' would turn into infinities."""
    if dtype == np.float32 or not len(values):
        return
    largest = float(np.abs(values).max())
    if largest > float(np.finfo(dtype).max):
        raise OverflowError(
            f"a private embedding value ({largest:.3g}) does not fit "
            f"federation.state_precision={dtype}; use float32"
        )


def _open(path: Path, shape: tuple[int, ...], dtype: type | np.dtype) -> np.memmap:
    if path.exists():
        array = np.load(path, mmap_mode="r+")
        if array.shape != shape or array.dtype != np.dtype(dtype):
            raise ValueError(
                f"{path}: holds {array.shape} {array.dtype}, expected {shape} {np.dtype(dtype)}"
            )
        return array  # type: ignore[no-any-return]
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
