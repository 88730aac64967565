"""Errors raised while reading or splitting datasets."""

from __future__ import annotations


class DataFormatError(ValueError):
    """A dataset file or table is malformed; the message names the file and line when known."""
