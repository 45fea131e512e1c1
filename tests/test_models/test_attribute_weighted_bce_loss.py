"""Weighted BCE of pedestrian attributes: values by hand, gradients, the
direction of the weighting, errors, the saved ratios, and the call from
mmpretrain's MultiLabelLinearClsHead."""
import math

import pytest
import torch
import torch.nn.functional as F


def build(**kwargs):
    import projects.saip_dpal  # noqa: F401
    from mmpretrain.registry import MODELS
    return MODELS.build(dict(type='AttributeWeightedBCELoss', **kwargs))


def softplus(x):
    return math.log1p(math.exp(x))


# logits, labels, positive ratios and each element's loss by hand:
# a positive costs exp(1 - p) * log(1 + e^-x), a negative exp(p) *
# log(1 + e^x)
LOGITS = [[0.0, 2.0], [-1.0, 0.5]]
LABELS = [[1, 0], [0, 1]]
RATIO = [0.25, 0.5]
BY_HAND = [[math.exp(0.75) * softplus(-0.0), math.exp(0.5) * softplus(2.0)],
           [math.exp(0.25) * softplus(-1.0), math.exp(0.5) * softplus(-0.5)]]


def test_values_by_hand():
    loss = build(pos_ratio=RATIO)
    x, y = torch.tensor(LOGITS), torch.tensor(LABELS)
    total = sum(map(sum, BY_HAND))
    assert math.isclose(float(loss(x, y)), total / 4, rel_tol=1e-6)
    # the head's call: mean over the batch of the per-sample sums
    assert math.isclose(float(loss(x, y, avg_factor=2)), total / 2,
                        rel_tol=1e-6)
    assert math.isclose(float(loss(x, y, reduction_override='sum')), total,
                        rel_tol=1e-6)
    elems = loss(x, y, reduction_override='none')
    assert torch.allclose(elems, torch.tensor(BY_HAND))
    # a sample weight (B,) scales its row; (B, K) each element
    assert math.isclose(
        float(loss(x, y, weight=torch.tensor([1., 0.]), avg_factor=2)),
        sum(BY_HAND[0]) / 2, rel_tol=1e-6)
    w = torch.tensor([[0., 1.], [2., 0.]])
    assert math.isclose(
        float(loss(x, y, weight=w, reduction_override='sum')),
        BY_HAND[0][1] + 2 * BY_HAND[1][0], rel_tol=1e-6)
    assert math.isclose(float(build(pos_ratio=RATIO, loss_weight=2.)(x, y)),
                        total / 2, rel_tol=1e-6)


def test_gradients_reach_the_logits():
    loss = build(pos_ratio=RATIO)
    x = torch.tensor(LOGITS, requires_grad=True)
    y = torch.tensor(LABELS, dtype=torch.float32)
    loss(x, y, avg_factor=2).backward()
    w = torch.tensor([[math.exp(0.75), math.exp(0.5)],
                      [math.exp(0.25), math.exp(0.5)]])
    expect = w * (torch.sigmoid(x.detach()) - y) / 2
    assert torch.allclose(x.grad, expect, atol=1e-6)


def test_rare_positives_weigh_more_than_with_plain_bce():
    """Attribute 0 is rare (10 % positive), attribute 1 common (90 %)."""
    loss = build(pos_ratio=[0.1, 0.9])
    missed = torch.tensor([[-2.0, -2.0]])  # both attributes missed
    pos = torch.ones(1, 2)
    weighted = loss(missed, pos, reduction_override='none')[0]
    plain = F.binary_cross_entropy_with_logits(missed, pos,
                                               reduction='none')[0]
    # the same mistake: plain BCE cannot tell them apart, the weighted one
    # charges the rare attribute's missed positive exp(0.9) / exp(0.1) more
    assert torch.isclose(plain[0], plain[1])
    assert weighted[0] > plain[0] and weighted[0] > weighted[1]
    assert torch.isclose(weighted[0] / weighted[1],
                         torch.tensor(math.exp(0.8)))
    # a false positive of the rare attribute costs less than a missed one
    wrong = torch.tensor([[2.0, 2.0]])
    false_pos = loss(wrong, torch.zeros(1, 2), reduction_override='none')[0]
    assert weighted[0] > false_pos[0]
    assert false_pos[1] > false_pos[0]  # the common one's negative is rare
    # and the gradient pushes a rare positive harder
    x = missed.clone().requires_grad_()
    loss(x, pos).backward()
    x_plain = missed.clone().requires_grad_()
    F.binary_cross_entropy_with_logits(x_plain, pos).backward()
    assert abs(x.grad[0, 0]) > abs(x_plain.grad[0, 0])


def test_errors():
    unset = build()
    assert not unset.has_pos_ratio
    with pytest.raises(RuntimeError, match='AttributePositiveRatioHook'):
        unset(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match='3 attributes but 2'):
        build(pos_ratio=RATIO)(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match='both be'):
        build(pos_ratio=RATIO)(torch.zeros(2, 2), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        build(pos_ratio=[0.5, 1.5])
    with pytest.raises(ValueError, match='reduction'):
        build(reduction='max')


def test_ratios_are_saved_and_reloaded():
    loss = build(pos_ratio=RATIO)
    state = loss.state_dict()
    assert torch.allclose(state['pos_ratio'], torch.tensor(RATIO))
    fresh = build()  # no ratios yet: takes the saved ones
    fresh.load_state_dict(state)
    assert torch.equal(fresh.pos_ratio, state['pos_ratio'])
    x, y = torch.tensor(LOGITS), torch.tensor(LABELS)
    assert torch.equal(fresh(x, y), loss(x, y))
    # set later (as the hook does): in the state dict too
    later = build()
    later.set_pos_ratio([0.2, 0.3, 0.4])
    assert later.state_dict()['pos_ratio'].tolist() == pytest.approx(
        [0.2, 0.3, 0.4])
    assert not later.ratio_from_config and loss.ratio_from_config


def test_called_by_multi_label_head():
    import projects.saip_dpal  # noqa: F401
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    head = MODELS.build(
        dict(type='MultiLabelLinearClsHead', in_channels=4, num_classes=2,
             loss=dict(type='AttributeWeightedBCELoss', pos_ratio=RATIO)))
    feats = torch.randn(2, 4)
    samples = [DataSample().set_gt_score(torch.tensor(row, dtype=torch.float))
               for row in LABELS]
    out = head.loss((feats, ), samples)['loss']
    scores = head.fc(feats)
    expect = build(pos_ratio=RATIO)(scores, torch.tensor(LABELS),
                                    reduction_override='sum') / 2
    assert torch.allclose(out, expect)
    # the ratios travel with the head's weights
    assert 'loss_module.pos_ratio' in head.state_dict()
    other = MODELS.build(
        dict(type='MultiLabelLinearClsHead', in_channels=4, num_classes=2,
             loss=dict(type='AttributeWeightedBCELoss')))
    other.load_state_dict(head.state_dict())
    assert torch.equal(other.loss_module.pos_ratio, torch.tensor(RATIO))
