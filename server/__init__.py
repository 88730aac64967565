"""The Flower ServerApp of fedrec."""
