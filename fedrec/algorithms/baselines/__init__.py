"""Sanity baselines every comparison should show: MostPop and Random."""
