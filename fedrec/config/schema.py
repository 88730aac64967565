"""Typed configuration of an experiment: frozen dataclasses, merged by OmegaConf.

Every key is documented in the README's configuration table. The top level holds what users change
most (``dataset``, ``protocol``, ``algorithm``, ``rounds``, ``seed``, ``output_dir``); the rest is
grouped by concern.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from fedrec.config.baselines import CentralisedConfig, PFedRecConfig
from fedrec.config.client_dp import ClientDPConfig, LeakageConfig
from fedrec.config.dpsgd import DPSGDConfig
from fedrec.config.model import ModelConfig
from fedrec.config.strategy import AttackConfig, SparsityConfig, StrategyConfig

Protocol = Literal["strict", "legacy"]
Curriculum = Literal["reference", "fixed", "tanh", "sin", "square", "frac"]
Regulariser = Literal["l1", "l2"]
Selection = Literal["validation", "test"]
Aggregation = Literal["mean", "weighted"]
Score = Literal["logit", "probability"]
Variant = Literal["full", "global_only", "local_only"]
Kernel = Literal["auto", "eager", "compiled"]
StatePrecision = Literal["float32", "float16"]
DecayAt = Literal["client", "server"]


@dataclass(frozen=True)
class SyntheticConfig:
    """Size of the generated dataset used when ``dataset=synthetic``."""

    n_users: int = 200
    n_items: int = 300
    mean_interactions: int = 20
    popularity_skew: float = 1.0


@dataclass(frozen=True)
class DataConfig:
    """Where the data comes from and how it is split."""

    path: str | None = None
    min_interactions: int = 10
    eval_negatives: int = 99
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)


@dataclass(frozen=True)
class FedRAPConfig:
    """FedRAP hyperparameters; defaults are those of the reference code (mtics/FedRAP)."""

    dim: int = 32
    lr_head: float = 0.5
    lr_embedding: float = 200.0
    local_lr_scale: float = 1.0
    local_init_std: float = 1.0
    weight_decay: float = 1e-4
    c_decay: DecayAt = "client"
    local_epochs: int = 10
    batch_size: int = 2048
    tol: float = 1e-4
    batch_lr_decay: float = 0.95
    round_lr_decay: float = 0.97
    num_negatives: int = 4
    lam: float = 0.1
    mu: float = 0.1
    regulariser: Regulariser = "l1"
    curriculum: Curriculum = "reference"
    variant: Variant = "full"


@dataclass(frozen=True)
class FederationConfig:
    """How the simulated federation is laid out on Flower."""

    num_nodes: int = 2
    participation: float = 1.0
    clients_per_round: int = 0
    dropout: float = 0.0
    aggregation: Aggregation = "mean"
    strategy: str = "fedavg"
    node_cpus: int = 1
    cohort_size: int = 0
    cohort_memory_mb: int = 1024
    state_memory_mb: int = 8192
    state_precision: StatePrecision = "float32"
    ray_address: str = ""
    kernel: Kernel = "auto"
    reply_timeout_s: float = 1800.0


@dataclass(frozen=True)
class DeploymentConfig:
    """Real devices under Flower's deployment engine, one user per ``flower-supernode``.

    The server reads no client data, so it learns the catalogue size here; every device's
    interaction file uses item ids ``0..n_items-1``.
    """

    enabled: bool = False
    n_items: int = 0


@dataclass(frozen=True)
class EvalConfig:
    """Metrics and model selection."""

    top_k: int = 10
    selection: Selection = "validation"
    score: Score = "logit"
    every: int = 1
    patience: int = 0
    patience_from: int = 0

    def __post_init__(self) -> None:
        if self.patience and self.selection != "validation":
            raise ValueError(
                "config key 'eval.patience': early stopping watches validation HR@k; "
                "it needs eval.selection=validation"
            )


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: everything a run needs, saved with its results."""

    dataset: str = "ml-100k"
    protocol: Protocol = "strict"
    algorithm: str = "fedrap"
    rounds: int = 100
    seed: int = 0
    output_dir: str = "runs"
    run_name: str = ""
    progress: bool = True
    checkpoint_every: int = 10
    keep_client_state: bool = False
    resume: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    fedrap: FedRAPConfig = field(default_factory=FedRAPConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    pfedrec: PFedRecConfig = field(default_factory=PFedRecConfig)
    centralised: CentralisedConfig = field(default_factory=CentralisedConfig)
    federation: FederationConfig = field(default_factory=FederationConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    deployment: DeploymentConfig = field(default_factory=DeploymentConfig)
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    sparsity: SparsityConfig = field(default_factory=SparsityConfig)
    attack: AttackConfig = field(default_factory=AttackConfig)
    client_dp: ClientDPConfig = field(default_factory=ClientDPConfig)
    leakage: LeakageConfig = field(default_factory=LeakageConfig)
    dpsgd: DPSGDConfig = field(default_factory=DPSGDConfig)
