"""Poisoning attacks that promote a target item, and the target's exposure."""

from fedrec.attack.exposure import exposure, target_ranks
from fedrec.attack.poison import attack_active, poison_split, scale_updates, target_item

__all__ = [
    "attack_active",
    "exposure",
    "poison_split",
    "scale_updates",
    "target_item",
    "target_ranks",
]
