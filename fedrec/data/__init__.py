"""Datasets for fedrec: readers, preprocessing, the leave-one-out split and a registry."""

from fedrec.data.errors import DataFormatError
from fedrec.data.preprocess import implicit_and_filter, leave_one_out
from fedrec.data.readers import (
    read_csv,
    read_inter,
    read_lastfm,
    read_movielens_1m,
    read_movielens_100k,
)
from fedrec.data.registry import (
    DatasetSpec,
    dataset_names,
    get_dataset,
    load_split,
    register_dataset,
)
from fedrec.data.synthetic import SyntheticSpec, synthetic_interactions
from fedrec.data.types import Interactions, SplitData

__all__ = [
    "DataFormatError",
    "DatasetSpec",
    "Interactions",
    "SplitData",
    "SyntheticSpec",
    "dataset_names",
    "get_dataset",
    "implicit_and_filter",
    "leave_one_out",
    "load_split",
    "read_csv",
    "read_inter",
    "read_lastfm",
    "read_movielens_1m",
    "read_movielens_100k",
    "register_dataset",
    "synthetic_interactions",
]
