"""Tests of the DPAL alignment losses."""
import pytest
import torch

import projects.saip_dpal  # noqa: F401  (registers the modules)
from mmpretrain.registry import MODELS
from projects.saip_dpal.models.losses import (DPALGlobalAlignLoss,
                                              DPALLocalAlignLoss,
                                              DPALRelationAlignLoss)


def relation_kl_by_hand(s, t):
    s, t = s.double(), t.double()
    c = s.shape[-1]
    log_s = torch.log_softmax(s @ s.transpose(1, 2) / c**0.5, -1)
    log_t = torch.log_softmax(t @ t.transpose(1, 2) / c**0.5, -1)
    return (log_t.exp() * (log_t - log_s)).sum(-1).mean()


def test_build_from_registry():
    for name in ('DPALGlobalAlignLoss', 'DPALLocalAlignLoss',
                 'DPALRelationAlignLoss'):
        loss = MODELS.build(dict(type=name, loss_weight=2.))
        assert loss.loss_weight == 2.


def test_global_loss_by_hand():
    torch.manual_seed(0)
    target = torch.randn(4, 1, 8)
    students = [torch.randn(4, 1, 8) for _ in range(3)]
    expected = sum(((s - target)**2).mean(-1).mean()
                   for s in students) / 3
    torch.testing.assert_close(
        DPALGlobalAlignLoss()(students, target), expected)
    torch.testing.assert_close(
        DPALGlobalAlignLoss(loss_weight=0.5)(students[0], target),
        0.5 * ((students[0] - target)**2).mean())
    with pytest.raises(ValueError):
        DPALGlobalAlignLoss()(torch.randn(4, 8), target)


def test_local_loss_by_hand():
    torch.manual_seed(0)
    mask = torch.rand(2, 6, 1)
    teacher = torch.randn(2, 6, 8)
    student = torch.randn(2, 6, 8)
    expected = ((mask * student - mask * teacher)**2).mean(-1).mean()
    torch.testing.assert_close(
        DPALLocalAlignLoss(loss_weight=3.)(student, teacher, mask),
        3 * expected)
    # the mask is applied to both sides: a zero mask zeroes the loss
    assert DPALLocalAlignLoss()(student, teacher, torch.zeros(2, 6, 1)) == 0


def test_relation_loss_by_hand():
    torch.manual_seed(0)
    s, t = torch.randn(2, 10, 16), torch.randn(2, 10, 16)
    loss = DPALRelationAlignLoss()(s, t)
    torch.testing.assert_close(loss.double(), relation_kl_by_hand(s, t))
    assert loss > 0
    assert DPALRelationAlignLoss()(t, t).abs() < 1e-6
    assert DPALRelationAlignLoss()(t.clone().requires_grad_(), t).abs() < 1e-6


def test_relation_loss_accumulates_over_crowd_outputs():
    torch.manual_seed(0)
    students = [torch.randn(2, 10, 16) for _ in range(3)]
    teachers = [torch.randn(2, 10, 16) for _ in range(3)]
    loss_fn = DPALRelationAlignLoss(loss_weight=2.)
    each = [loss_fn(s, t) for s, t in zip(students, teachers)]
    torch.testing.assert_close(loss_fn(students, teachers), sum(each) / 3)
    # a single teacher tensor is paired with every student output
    torch.testing.assert_close(
        loss_fn(students, teachers[0]),
        sum(loss_fn(s, teachers[0]) for s in students) / 3)
    with pytest.raises(ValueError):
        loss_fn(students, teachers[:2])


def test_each_loss_sees_only_its_student_input():
    torch.manual_seed(0)
    t_global, t_patch = torch.randn(2, 1, 8), torch.randn(2, 6, 8)
    t_crowd, mask = torch.randn(2, 10, 8), torch.rand(2, 6, 1)
    s = dict(glob=torch.randn(2, 1, 8), local=torch.randn(2, 6, 8),
             crowd=torch.randn(2, 10, 8))

    def losses(s):
        return torch.stack([
            DPALGlobalAlignLoss()(s['glob'], t_global),
            DPALLocalAlignLoss()(s['local'], t_patch, mask),
            DPALRelationAlignLoss()(s['crowd'], t_crowd)
        ])

    base = losses(s)
    for i, key in enumerate(['glob', 'local', 'crowd']):
        changed = losses({**s, key: s[key] + torch.randn_like(s[key])})
        differs = ~torch.isclose(changed, base)
        assert differs.tolist() == [j == i for j in range(3)], key


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_low_precision_large_inputs_give_finite_fp32_losses(dtype):
    torch.manual_seed(0)
    big = dict(glob=torch.randn(2, 1, 768) * 300,
               local=torch.randn(2, 6, 768) * 300,
               crowd=torch.randn(2, 10, 768) * 300)
    teacher = {k: v.flip(0) for k, v in big.items()}
    mask = torch.rand(2, 6, 1)
    low = {k: v.to(dtype) for k, v in big.items()}
    t_low = {k: v.to(dtype) for k, v in teacher.items()}
    with torch.autocast('cpu', dtype=torch.bfloat16):
        results = [
            DPALGlobalAlignLoss()(low['glob'], t_low['glob']),
            DPALLocalAlignLoss()(low['local'], t_low['local'],
                                 mask.to(dtype)),
            DPALRelationAlignLoss()(low['crowd'], t_low['crowd']),
        ]
    for loss in results:
        assert loss.dtype == torch.float32 and torch.isfinite(loss)
    # the relation equals the fp64 value of the same (rounded) tokens
    expected = relation_kl_by_hand(low['crowd'], t_low['crowd'])
    torch.testing.assert_close(results[2].double(), expected, rtol=1e-4,
                               atol=1e-3)
