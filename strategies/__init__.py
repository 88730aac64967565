"""Flower strategies for fedrec, one per module."""

from strategies.item_average import GlobalItemAverage

__all__ = ["GlobalItemAverage"]
