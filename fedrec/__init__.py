"""fedrec: simulate and deploy federated recommender systems (FedRAP and baselines) on Flower."""

__version__ = "0.1.0"
