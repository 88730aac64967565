import torch

from fedrec.algorithms.fedrap.per_user import fedrap_loss


def test_each_loss_term_matches_a_hand_computation():
    # Prepare: logits 0 give p = 0.5, so BCE = log 2 whatever the labels.
    logits = torch.zeros(2)
    labels = torch.tensor([1.0, 0.0])
    local = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    glob = torch.tensor([[0.0, 0.0], [1.0, -3.0]])
    gap = (1 + 4 + 1 + 9) / 4
    # Execute / Assert
    bce = float(fedrap_loss(logits, labels, local, glob, 0.0, 0.0, "l1"))
    assert abs(bce - torch.log(torch.tensor(2.0)).item()) < 1e-6
    with_gap = float(fedrap_loss(logits, labels, local, glob, 0.5, 0.0, "l1"))
    assert abs(with_gap - (bce - 0.5 * gap)) < 1e-6
    with_l1 = float(fedrap_loss(logits, labels, local, glob, 0.0, 0.2, "l1"))
    assert abs(with_l1 - (bce + 0.2 * (4 / 4))) < 1e-6
    with_l2 = float(fedrap_loss(logits, labels, local, glob, 0.0, 0.2, "l2"))
    assert abs(with_l2 - (bce + 0.2 * (10 / 4))) < 1e-6
