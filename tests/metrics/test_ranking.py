import numpy as np
import torch

from fedrec.metrics import hit_rate, ndcg, rank_of_positive, summarise_ranks


def test_rank_counts_candidates_scoring_at_least_the_positive():
    positive = torch.tensor([0.9, 0.1, 0.5])
    candidates = torch.tensor([[0.1, 0.2, 0.3], [0.5, 0.6, 0.0], [0.5, 0.9, 0.1]])
    assert rank_of_positive(positive, candidates).tolist() == [1, 3, 3]


def test_all_tied_scores_rank_the_positive_last():
    positive = torch.zeros(4)
    candidates = torch.zeros(4, 99)
    assert rank_of_positive(positive, candidates).tolist() == [100] * 4


def test_masked_candidates_do_not_compete():
    positive = torch.tensor([0.0])
    candidates = torch.tensor([[1.0, 1.0, -1.0]])
    valid = torch.tensor([[True, False, True]])
    assert rank_of_positive(positive, candidates, valid).tolist() == [2]


def test_hr_and_ndcg_on_hand_made_ranks():
    ranks = np.array([1, 2, 10, 11])
    assert hit_rate(ranks, 10).tolist() == [1, 1, 1, 0]
    np.testing.assert_allclose(ndcg(ranks, 10), [1.0, 1 / np.log2(3), 1 / np.log2(11), 0.0])
    summary = summarise_ranks({"test": ranks}, 10)
    assert summary["test_hr10"] == 0.75
