"""Flower strategies for fedrec, one per module."""

from strategies.global_mean import GlobalMean

__all__ = ["GlobalMean"]
