"""The Flower ClientApp of fedrec."""
