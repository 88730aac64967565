"""A comparison grid: settings × methods × seeds, each a list of config overrides.

Each item is a ``key=value`` override on a common base, or the path of a YAML file of config
keys, such as the best configuration ``fedrec tune`` writes. MostPop and Random are added to
every grid, so each table shows where the trivial answers lie. Grid file::

    name: protocols-ml100k
    output_dir: runs/compare
    base: [dataset=ml-100k, rounds=100]
    seeds: [0]
    settings: {legacy: [protocol=legacy], strict: [protocol=strict]}
    methods: {fedrap: [algorithm=fedrap]}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fedrec.config import ConfigError, read_mapping
from fedrec.overrides import expand

#: Reference methods every grid runs, whatever its file lists.
BASELINES = {
    "mostpop": ["algorithm=mostpop", "rounds=1"],
    "random": ["algorithm=random", "rounds=1"],
}


#: A grid's cell: (setting, method, seed).
Cell = tuple[str, str, int]


@dataclass(frozen=True)
class Grid:
    """A comparison grid (see the module docstring for the file format)."""

    name: str
    output_dir: Path
    base: list[str]
    seeds: list[int]
    settings: dict[str, list[str]]
    methods: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Grid:
        """Read a grid file; unknown keys and missing sections are errors."""
        raw = read_mapping(path, "grid file")
        unknown = set(raw) - {"name", "output_dir", "base", "seeds", "settings", "methods"}
        if unknown:
            raise ConfigError(f"{path}: unknown grid keys {sorted(unknown)}")
        methods = {**{str(k): expand(v) for k, v in raw.get("methods", {}).items()}, **BASELINES}
        return cls(
            name=str(raw.get("name", path.stem)),
            output_dir=Path(str(raw.get("output_dir", "runs/compare")))
            / str(raw.get("name", path.stem)),
            base=expand(raw.get("base", [])),
            seeds=[int(s) for s in raw.get("seeds", [0])],
            settings={str(k): expand(v) for k, v in raw.get("settings", {"default": []}).items()},
            methods=methods,
        )

    def cells(self) -> list[Cell]:
        """Return every (setting, method, seed), in a stable order."""
        return [(s, m, seed) for s in self.settings for m in self.methods for seed in self.seeds]

    def select(
        self,
        settings: Sequence[str] = (),
        methods: Sequence[str] = (),
        seeds: Sequence[int] = (),
    ) -> list[Cell]:
        """Return the cells of the named settings, methods and seeds (empty: all), in grid order.

        Raises
        ------
        ConfigError
            If a name or seed is not in the grid (the message lists those that are).
        """
        _check_known("settings", settings, list(self.settings))
        _check_known("methods", methods, list(self.methods))
        _check_known("seeds", seeds, self.seeds)
        return [
            (s, m, seed)
            for s, m, seed in self.cells()
            if (not settings or s in settings)
            and (not methods or m in methods)
            and (not seeds or seed in seeds)
        ]

    def run_dir(self, setting: str, method: str, seed: int) -> Path:
        """Return one cell's run folder."""
        return self.output_dir / f"{setting}--{method}--s{seed}"

    def overrides(self, setting: str, method: str, seed: int) -> list[str]:
        """Return one cell's overrides: base, then setting, then method, then seed and folder."""
        return [
            *self.base,
            *self.settings[setting],
            *self.methods[method],
            f"seed={seed}",
            f"output_dir={self.output_dir}",
            f"run_name={setting}--{method}--s{seed}",
            "progress=false",
        ]


def _check_known(what: str, asked: Sequence[object], known: Sequence[object]) -> None:
    unknown = [name for name in asked if name not in known]
    if unknown:
        raise ConfigError(f"unknown {what} {unknown}; the grid has {list(known)}")
