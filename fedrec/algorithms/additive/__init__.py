"""FedRAP's additive personalisation (item embedding = C + D) on any registered base model."""
