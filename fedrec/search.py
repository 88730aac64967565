"""The search file of ``fedrec tune``: what to search, over which algorithms, with what budget.

Search file::

    name: ml100k-fedrap            # folder under output_dir
    output_dir: runs/tune
    base: [dataset=ml-100k, rounds=30, checkpoint_every=0]
    algorithms:                    # every algorithm gets the same num_samples trials
      fedrap: [algorithm=fedrap]
      fedmf: [algorithm=fedmf]
    space:                         # searched for every algorithm
      fedrap.lr_head: {loguniform: [0.01, 2.0]}
      fedrap.local_epochs: {randint: [1, 11]}   # 1..10: the upper bound is excluded
    extra_space:                   # searched only for the named algorithm, on top of space
      fedrap: {fedrap.lam: {uniform: [0.0, 1.0]}, fedrap.regulariser: {choice: [l1, l2]}}
    num_samples: 20
    seed: 0                        # seeds the sampler and every trial's run
    concurrency: 1                 # trials at a time
    reference_first: false         # true: each algorithm's first trial is its reference config
    start_points:                  # per algorithm, trials run before the random ones (after the
      fedmf:                       # reference); unnamed keys keep their reference values, and
        - {fedrap.lr_head: 0.1}    # each point replaces one of the num_samples random trials

Override lists may hold YAML files of keys (see :mod:`fedrec.overrides`). Unknown keys, unknown
distributions, bad bounds and config keys or values a run would refuse are errors at load time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from fedrec.config import ConfigError, read_mapping
from fedrec.overrides import expand, format_override

Kind = Literal["choice", "uniform", "loguniform", "randint"]
KINDS: tuple[Kind, ...] = ("choice", "uniform", "loguniform", "randint")
FILE_KEYS = {
    "name", "output_dir", "base", "algorithms", "space", "extra_space", "num_samples", "seed",
    "concurrency", "reference_first", "start_points",
}  # fmt: skip
#: Keys every trial sets itself.
RESERVED = ("seed", "output_dir", "run_name", "resume", "progress")


@dataclass(frozen=True)
class Distribution:
    """Where one key's values are drawn from.

    ``choice``: one of ``args``; ``uniform`` / ``loguniform``: a float in ``[low, high]``;
    ``randint``: an integer in ``[low, high)``, as Ray Tune's ``randint``.
    """

    kind: Kind
    args: tuple[Any, ...]

    @classmethod
    def parse(cls, key: str, raw: Any) -> Distribution:
        """Read ``{kind: [arguments]}``; a bad kind or bad bounds are errors naming the key."""
        if not (isinstance(raw, dict) and len(raw) == 1 and next(iter(raw)) in KINDS):
            raise ConfigError(f"search key '{key}': expected one of {{{'|'.join(KINDS)}: [...]}}")
        kind, args = cast(Kind, next(iter(raw))), raw[next(iter(raw))]
        if not isinstance(args, list) or not args:
            raise ConfigError(f"search key '{key}': {kind} takes a non-empty list")
        if kind != "choice":
            _check_bounds(key, kind, args)
        return cls(kind, tuple(args))

    def probes(self) -> list[Any]:
        """Values that show whether a run accepts this key: every choice, both ends, the middle."""
        if self.kind == "choice":
            return list(self.args)
        low, high = self.args
        if self.kind == "randint":
            return [low, high - 1, (low + high - 1) // 2]
        middle = math.sqrt(low * high) if self.kind == "loguniform" else (low + high) / 2
        return [float(low), float(high), middle]

    def contains(self, value: Any) -> bool:
        """Return whether ``value`` is one this distribution can draw."""
        if self.kind == "choice":
            return value in self.args
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        low, high = self.args
        if self.kind == "randint":
            return isinstance(value, int) and low <= value < high
        return bool(low <= value <= high)

    def to_tune(self) -> Any:
        """Return the Ray Tune sampler of this distribution."""
        from ray import tune

        if self.kind == "choice":
            return tune.choice(list(self.args))
        sampler = {"uniform": tune.uniform, "loguniform": tune.loguniform, "randint": tune.randint}
        return sampler[self.kind](*self.args)


def _check_bounds(key: str, kind: Kind, args: list[Any]) -> None:
    numbers = all(isinstance(a, int | float) and not isinstance(a, bool) for a in args)
    if len(args) != 2 or not numbers or not args[0] < args[1]:
        raise ConfigError(f"search key '{key}': {kind} takes [low, high] with low < high")
    if kind == "loguniform" and args[0] <= 0:
        raise ConfigError(f"search key '{key}': loguniform needs low > 0")
    if kind == "randint" and not all(isinstance(a, int) for a in args):
        raise ConfigError(f"search key '{key}': randint takes integer bounds")


@dataclass(frozen=True)
class Search:
    """A hyperparameter search (see the module docstring for the file format)."""

    name: str
    output_dir: Path
    base: list[str]
    algorithms: dict[str, list[str]]
    space: dict[str, Distribution]
    extra_space: dict[str, dict[str, Distribution]] = field(default_factory=dict)
    num_samples: int = 10
    seed: int = 0
    concurrency: int = 1
    reference_first: bool = False
    start_points: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, base: list[str] | None = None, **changes: Any) -> Search:
        """Read and check a search file.

        ``base`` items are appended to the file's base; ``changes`` replace top-level keys
        (``num_samples``, ``output_dir``, ...), as the command line's options do.
        """
        raw = read_mapping(path, "search file")
        unknown = set(raw) - FILE_KEYS
        if unknown:
            raise ConfigError(f"{path}: unknown search keys {sorted(unknown)}")
        raw.update({k: v for k, v in changes.items() if v is not None})
        if not raw.get("algorithms"):
            raise ConfigError(f"{path}: a search needs 'algorithms'")
        name = str(raw.get("name", path.stem))
        search = cls(
            name=name,
            output_dir=Path(str(raw.get("output_dir", "runs/tune"))) / name,
            base=expand(raw.get("base", [])) + list(base or []),
            algorithms={str(k): expand(v) for k, v in raw["algorithms"].items()},
            space=_space(raw.get("space") or {}),
            extra_space={str(k): _space(v) for k, v in (raw.get("extra_space") or {}).items()},
            num_samples=int(raw.get("num_samples", 10)),
            seed=int(raw.get("seed", 0)),
            concurrency=int(raw.get("concurrency", 1)),
            reference_first=bool(raw.get("reference_first", False)),
            start_points=_start_points(raw.get("start_points") or {}),
        )
        search.check()
        return search

    def space_of(self, algorithm: str) -> dict[str, Distribution]:
        """Return the distributions searched for one algorithm."""
        return {**self.space, **self.extra_space.get(algorithm, {})}

    def reference_point(self, algorithm: str) -> dict[str, Any]:
        """Return the searched keys' values in the algorithm's reference (unsearched) config.

        With ``reference_first`` this point is the algorithm's first trial, so the search's best
        is never worse on validation than the defaults it started from, at the same budget.
        """
        from fedrec.cli import resolve_config

        cfg = resolve_config(None, self.fixed(algorithm))
        return {key: _value_at(cfg, key) for key in self.space_of(algorithm)}

    def first_points(self, algorithm: str) -> list[dict[str, Any]]:
        """Return the trials run before any random one: the reference, then the start points.

        A start point sets some searched keys; the others keep their reference values. Each
        point replaces one of the ``num_samples`` random trials, so every algorithm's budget
        stays the same.
        """
        points = self.start_points.get(algorithm, [])
        if not (points or self.reference_first):
            return []
        reference = self.reference_point(algorithm)
        first = [reference] if self.reference_first else []
        return first + [{**reference, **point} for point in points]

    def fixed(self, algorithm: str) -> list[str]:
        """Return the overrides every trial of ``algorithm`` shares: base, then the algorithm's."""
        return [*self.base, *self.algorithms[algorithm]]

    def check(self) -> None:
        """Refuse a search that could not run to the end, before any trial starts."""
        if self.num_samples < 1 or self.concurrency < 1:
            raise ConfigError("num_samples and concurrency must be at least 1")
        for key in ("extra_space", "start_points"):
            stray = set(getattr(self, key)) - set(self.algorithms)
            if stray:
                raise ConfigError(f"{key} names algorithms not searched: {sorted(stray)}")
        for algorithm in self.algorithms:
            self._check_algorithm(algorithm)
            self._check_start_points(algorithm)

    def _check_start_points(self, algorithm: str) -> None:
        from fedrec.cli import resolve_config

        points = self.start_points.get(algorithm, [])
        if len(points) + self.reference_first > self.num_samples:
            raise ConfigError(f"{algorithm}: num_samples {self.num_samples} is fewer than its "
                              "reference and start points")  # fmt: skip
        space = self.space_of(algorithm)
        for point in points:
            outside = [k for k, v in point.items() if k not in space or not space[k].contains(v)]
            if outside:
                raise ConfigError(f"{algorithm}: start point {point} sets {outside} outside the "
                                  "searched space")  # fmt: skip
            resolve_config(None, [*self.fixed(algorithm), *_as_overrides(point)])

    def _check_algorithm(self, algorithm: str) -> None:
        from fedrec.cli import resolve_config

        space = self.space_of(algorithm)
        if not space:
            raise ConfigError(f"{algorithm}: nothing to search (no 'space' and no 'extra_space')")
        keys = {item.split("=", 1)[0] for item in self.fixed(algorithm)} | set(space)
        reserved = sorted(keys & set(RESERVED))
        if reserved:
            raise ConfigError(f"{algorithm}: every trial sets {reserved} itself")
        first = [format_override(k, d.probes()[0]) for k, d in space.items()]
        cfg = resolve_config(None, [*self.fixed(algorithm), *first])
        for key, dist in space.items():
            for value in dist.probes()[1:]:
                resolve_config(None, [*self.fixed(algorithm), *first, format_override(key, value)])
        if (cfg.eval.top_k, cfg.eval.selection) != (10, "validation"):
            raise ConfigError("the objective is validation HR@10: keep eval.top_k=10 and "
                              "eval.selection=validation")  # fmt: skip


def _value_at(cfg: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def _as_overrides(point: dict[str, Any]) -> list[str]:
    return [format_override(key, value) for key, value in point.items()]


def _start_points(raw: Any) -> dict[str, list[dict[str, Any]]]:
    well_formed = isinstance(raw, dict) and all(
        isinstance(points, list) and all(isinstance(p, dict) and p for p in points)
        for points in raw.values()
    )
    if not well_formed:
        raise ConfigError("start_points maps each algorithm to a list of {config key: value}")
    return {str(name): [dict(p) for p in points] for name, points in raw.items()}


def _space(raw: Any) -> dict[str, Distribution]:
    if not isinstance(raw, dict):
        raise ConfigError("a search space is a mapping of config keys to distributions")
    return {str(key): Distribution.parse(str(key), value) for key, value in raw.items()}
