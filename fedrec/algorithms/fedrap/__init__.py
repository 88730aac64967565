"""FedRAP: Federated Recommendation with Additive Personalization."""
