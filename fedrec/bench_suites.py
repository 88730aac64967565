"""The cases ``fedrec bench`` times: named suites of config overrides, and ratio pairs."""

from __future__ import annotations

from dataclasses import dataclass

from fedrec.config import ConfigError


@dataclass(frozen=True)
class Case:
    """One benchmark case: a name (also its run folder) and its config overrides."""

    name: str
    overrides: tuple[str, ...]


@dataclass(frozen=True)
class Suite:
    """Cases run in one invocation; ``compare`` pairs (baseline, other) are reported as ratios."""

    description: str
    cases: tuple[Case, ...]
    compare: tuple[tuple[str, str], ...] = ()


def _synthetic(users: int, items: int, *extra: str) -> tuple[str, ...]:
    sizes = (f"data.synthetic.n_users={users}", f"data.synthetic.n_items={items}")
    return ("dataset=synthetic", *sizes, "rounds=3", *extra)


#: Spill the client state store to the run folder (page cache, not RAM), halve cohorts, and
#: use one node: two nodes on these 2 vCPUs ran no faster than one, and each holds its own torch.
_LOW_MEMORY = (
    "federation.state_memory_mb=0",
    "federation.cohort_memory_mb=512",
    "federation.num_nodes=1",
)
#: D stored in half precision: the 1.4 GB store stays in RAM (tmpfs) beside 256 MiB cohorts.
_HALF_STATE = (
    "federation.state_precision=float16",
    "federation.state_memory_mb=2048",
    "federation.cohort_memory_mb=256",
    "federation.num_nodes=1",
)
NAIVE_USERS = 300
_NAIVE = "naive-cohort", "naive-per-user"
SUITES: dict[str, Suite] = {
    "ml100k": Suite(
        "MovieLens-100K, all 943 users per round, default settings",
        (Case("ml100k", ("dataset=ml-100k", "rounds=6")),),
    ),
    "ml1m": Suite(
        "MovieLens-1M, all 6,040 users per round, default settings",
        (Case("ml1m", ("dataset=ml-1m", "rounds=4")),),
    ),
    "ml1m-4g": Suite(
        "MovieLens-1M as ml1m, in little memory: float32 client state spilled to disk, and "
        "float16 client state in RAM (run under experiments/bench/memory_limit.sh 4G)",
        (
            Case("ml1m-4g", ("dataset=ml-1m", "rounds=4", *_LOW_MEMORY)),
            Case("ml1m-4g-half", ("dataset=ml-1m", "rounds=4", *_HALF_STATE)),
        ),
        compare=(("ml1m-4g", "ml1m-4g-half"),),
    ),
    "synthetic": Suite(
        "synthetic, 2,000 items: 10,000 users (all per round); 100,000 users (10,000 per round)",
        (
            Case("syn-10k", _synthetic(10_000, 2_000)),
            Case("syn-100k", _synthetic(100_000, 2_000, "federation.clients_per_round=10000")),
        ),
    ),
    "naive": Suite(
        f"{NAIVE_USERS} synthetic users: cohorts on 2 Flower nodes vs one Flower node per user",
        (
            Case(_NAIVE[0], _synthetic(NAIVE_USERS, 300, "federation.num_nodes=2")),
            Case(_NAIVE[1], _synthetic(NAIVE_USERS, 300, f"federation.num_nodes={NAIVE_USERS}")),
        ),
        compare=(_NAIVE,),
    ),
}
SUITES["all"] = Suite(
    "every suite above",
    tuple(case for suite in SUITES.values() for case in suite.cases),
    tuple(pair for suite in SUITES.values() for pair in suite.compare),
)


def get_suite(name: str) -> Suite:
    """Return the registered suite ``name``.

    Raises
    ------
    ConfigError
        If no suite has that name; the message lists the known ones.
    """
    if name not in SUITES:
        raise ConfigError(f"unknown bench suite {name!r}; known suites: {', '.join(SUITES)}")
    return SUITES[name]
