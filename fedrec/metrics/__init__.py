"""Ranking metrics: ranks of held-out items, HR@K and NDCG@K."""

from fedrec.metrics.ranking import (
    hit_rate,
    ndcg,
    pool_by_user,
    rank_of_positive,
    summarise_ranks,
)

__all__ = ["hit_rate", "ndcg", "pool_by_user", "rank_of_positive", "summarise_ranks"]
