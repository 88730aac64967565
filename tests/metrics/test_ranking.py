import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from fedrec.metrics import hit_rate, ndcg, pool_by_user, rank_of_positive, summarise_ranks


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


def test_probability_scores_tie_when_the_sigmoid_saturates_and_logits_do_not():
    from fedrec.algorithms.fedrap.evaluate import cohort_ranks
    from fedrec.state.private import PrivateState
    from tests.factories import tiny_split

    # Prepare: one user whose logits are 40 + item index: all distinct, all saturated.
    split = tiny_split(n_users=1, n_items=40)
    local = torch.zeros(1, 40, 1)
    local[0, :, 0] = 40.0 + torch.arange(40.0)
    state = PrivateState(local, torch.ones(1, 1), torch.zeros(1))
    item_global = torch.zeros(40, 1)
    test_item = int(split.test_items[0])
    beaten = int((split.eval_negatives[0] > test_item).sum())
    # Execute
    by_logit = cohort_ranks(state, item_global, split, np.array([0]), "logit")
    by_prob = cohort_ranks(state, item_global, split, np.array([0]), "probability")
    # Assert
    assert int(by_logit["test_sampled"][0]) == 1 + beaten
    assert int(by_prob["test_sampled"][0]) == 1 + split.eval_negatives.shape[1]


@given(st.integers(2, 40), st.integers(0, 2**31 - 1))
def test_pooled_ranks_and_their_means_do_not_depend_on_which_node_replied_first(n, seed):
    # Prepare: two nodes' ranks of interleaved users
    rng = np.random.default_rng(seed)
    users = rng.permutation(n)
    ranks = rng.integers(1, 100, size=n)
    first = {"users": [users[::2], users[1::2]], "test": [ranks[::2], ranks[1::2]]}
    second = {key: parts[::-1] for key, parts in first.items()}
    # Execute
    a, b = pool_by_user(first, "users"), pool_by_user(second, "users")
    # Assert: in user order, each rank still with its user; the means bit-identical
    np.testing.assert_array_equal(a["users"], np.arange(n))
    np.testing.assert_array_equal(a["test"], ranks[np.argsort(users)])
    np.testing.assert_array_equal(b["test"], a["test"])
    assert summarise_ranks({"t": a["test"]}, 10) == summarise_ranks({"t": b["test"]}, 10)
