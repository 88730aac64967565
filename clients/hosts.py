"""What a Flower node hosts: a fixed slice of simulated users, or one real user on a device.

A simulated node is told its slice by Flower (``partition-id`` of ``num-partitions``); a device
is started with ``flower-supernode --node-config "data-file='…' state-dir='…'"`` and hosts the
user of that file only. The run's config says which kind the federation is
(``deployment.enabled``); a node of the other kind is refused with an error saying why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from clients.runtime import algorithm_for, split_for
from fedrec import wire
from fedrec.algorithms.base import (
    DEFAULT_OPTIONS,
    Algorithm,
    GlobalArrays,
    NodeData,
    NodeUpdate,
    TrainOptions,
)
from fedrec.algorithms.fedrap.node import ITEM_GLOBAL
from fedrec.algorithms.participation import hosted_users
from fedrec.config.schema import ExperimentConfig
from fedrec.data.types import IntArray
from fedrec.deploy.device import Device

# Node config keys of a device.
DATA_FILE = "data-file"
STATE_DIR = "state-dir"


class Host(Protocol):
    """The users a node trains and evaluates."""

    def train(
        self, arrays: GlobalArrays, server_round: int, options: TrainOptions = DEFAULT_OPTIONS
    ) -> NodeUpdate:
        """Train this round's participants, as the strategy's ``options`` ask."""
        ...

    def evaluate(self, arrays: GlobalArrays, server_round: int) -> dict[str, IntArray]:
        """Return per-user ranks of the held-out items and ``users``."""
        ...


@dataclass(frozen=True)
class SimulatedUsers:
    """A simulated node: a slice of the dataset's users, state in the run's store."""

    algorithm: Algorithm
    node: NodeData

    def train(
        self, arrays: GlobalArrays, server_round: int, options: TrainOptions = DEFAULT_OPTIONS
    ) -> NodeUpdate:
        """Train the slice's participants together (the algorithm's cohort trainer)."""
        return self.algorithm.train_node(self.node, arrays, server_round, options)

    def evaluate(self, arrays: GlobalArrays, server_round: int) -> dict[str, IntArray]:
        """Rank every hosted user's held-out items."""
        return self.algorithm.evaluate_node(self.node, arrays)


@dataclass(frozen=True)
class DeviceUser:
    """A device: one user, its file and its state folder."""

    device: Device

    def train(
        self, arrays: GlobalArrays, server_round: int, options: TrainOptions = DEFAULT_OPTIONS
    ) -> NodeUpdate:
        """Train the user for one round; its state is saved before the reply is sent.

        Raises
        ------
        ValueError
            If the strategy asks for more than plain uploads (per-user updates, thresholds,
            FedProx): devices run the default ``fedavg`` strategy only, for now.
        """
        if options != DEFAULT_OPTIONS:
            raise ValueError(f"devices support only the default strategy options, got {options}")
        return self.device.train(arrays[ITEM_GLOBAL], server_round)

    def evaluate(self, arrays: GlobalArrays, server_round: int) -> dict[str, IntArray]:
        """Rank the user's held-out items."""
        return self.device.evaluate(arrays[ITEM_GLOBAL], server_round)


def device_paths(node_config: Mapping[str, object]) -> tuple[Path, Path] | None:
    """Return a device's (data file, state folder) from its node config; ``None`` if absent.

    Raises
    ------
    ValueError
        If only one of the two keys is given, or a path is not absolute (the ClientApp runs in
        a process whose working folder is Flower's, not the one ``flower-supernode`` ran in).
    """
    given = [key for key in (DATA_FILE, STATE_DIR) if key in node_config]
    if not given:
        return None
    if len(given) == 1:
        missing = STATE_DIR if given[0] == DATA_FILE else DATA_FILE
        raise ValueError(f"node config has '{given[0]}' but no '{missing}': a device needs both")
    paths = tuple(Path(str(node_config[key])).expanduser() for key in (DATA_FILE, STATE_DIR))
    for key, path in zip((DATA_FILE, STATE_DIR), paths, strict=True):
        if not path.is_absolute():
            raise ValueError(f"node config '{key}' must be an absolute path, got '{path}'")
    return paths[0], paths[1]


def host_for(node_config: Mapping[str, object], cfg: ExperimentConfig, state_dir: str) -> Host:
    """Return what this node hosts, refusing a node that does not fit the run's kind."""
    paths = device_paths(node_config)
    if cfg.deployment.enabled and paths is None:
        raise ValueError(
            f"the run is a deployment (deployment.enabled) but this node's config names no "
            f"'{DATA_FILE}': start flower-supernode with "
            f"--node-config \"{DATA_FILE}='/abs/user.csv' {STATE_DIR}='/abs/state'\""
        )
    if paths is not None:
        if not cfg.deployment.enabled:
            raise ValueError(
                f"this node hosts one user ({DATA_FILE}={paths[0]}) but the run is a "
                "simulation: set deployment.enabled=true and deployment.n_items in the run config"
            )
        return DeviceUser(_device(paths[0], paths[1], cfg))
    partition = int(wire.scalar(node_config.get("partition-id", 0)))
    num_partitions = int(wire.scalar(node_config.get("num-partitions", 1)))
    split = split_for(cfg)
    hosted = hosted_users(split.n_users, partition, num_partitions)
    folder = Path(state_dir) / f"node-{partition:04d}-of-{num_partitions:04d}"
    return SimulatedUsers(algorithm_for(cfg), NodeData(split, hosted, folder))


@lru_cache(maxsize=4)
def _device(data_file: Path, state_dir: Path, cfg: ExperimentConfig) -> Device:
    return Device(data_file, state_dir, cfg)
