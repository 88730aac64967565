"""``key=value`` overrides: format values so they parse back as themselves, and read files as lists.

Grids (``fedrec compare``) and searches (``fedrec tune``) describe runs as lists of dotted
overrides. An item of such a list may also be the path of a YAML file of config keys (an
experiment file, or the best configuration a search wrote): it stands for that file's keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from fedrec.config import ConfigError, read_mapping


def format_value(value: Any) -> str:
    """Return ``value`` as OmegaConf's dotlist parser reads it back (a YAML scalar or list).

    Strings stay bare unless YAML would read them as something else (``"1e-3"``, ``"true"``),
    in which case they are quoted.
    """
    if isinstance(value, str):
        if "${" in value:
            raise ConfigError(f"{value!r} would be read as an OmegaConf interpolation")
        return value if _reads_back(value) else json.dumps(value, ensure_ascii=False)
    if hasattr(value, "item"):  # numpy scalars, as Ray Tune samples them
        value = value.item()
    return json.dumps(value)


def _reads_back(text: str) -> bool:
    """Whether OmegaConf's dotlist parser reads ``text`` bare as the same string.

    It cannot for ``@x`` (a YAML error), ``0E0`` (its float rule is wider than PyYAML's), ``true``.
    """
    try:
        parsed = OmegaConf.to_container(OmegaConf.from_dotlist([f"k={text}"]))
    except Exception:  # any parse failure means: quote it
        return False
    return bool(parsed == {"k": text})


def format_override(key: str, value: Any) -> str:
    """Return one ``key=value`` item."""
    return f"{key}={format_value(value)}"


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Return the dotted (key, leaf value) pairs of a nested mapping, in file order."""
    pairs: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            pairs.extend(flatten(value, prefix=f"{dotted}."))
        else:
            pairs.append((dotted, value))
    return pairs


def file_overrides(path: Path) -> list[str]:
    """Return the keys of a YAML config file as ``key=value`` items."""
    keys = flatten(read_mapping(path, "override file"))
    return [format_override(key, value) for key, value in keys]


def expand(items: Iterable[Any]) -> list[str]:
    """Return ``items`` with every YAML file path replaced by that file's overrides.

    An item without ``=`` that ends in ``.yaml`` or ``.yml`` is a file (relative to the current
    folder); every other item must be ``key=value``.
    """
    out: list[str] = []
    for item in map(str, items):
        if "=" not in item and item.endswith((".yaml", ".yml")):
            out.extend(file_overrides(Path(item)))
        elif "=" in item:
            out.append(item)
        else:
            raise ConfigError(f"expected key=value or a .yaml file of keys, got {item!r}")
    return out


def to_yaml(overrides: Iterable[str]) -> str:
    """Return ``key=value`` items as a nested YAML mapping (an experiment file)."""
    return OmegaConf.to_yaml(OmegaConf.from_dotlist(list(overrides)))
