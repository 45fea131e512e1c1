"""Tests of SAIP's cross-scale matching: projection head, DINO loss with
all-reduced centering, and the attention-relation loss."""
import copy
from datetime import timedelta
import os
import socket

import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp

import projects.saip_dpal  # noqa: F401  (registers the modules)
from mmpretrain.registry import MODELS
from projects.saip_dpal.models.heads import SAIPProjectionHead
from projects.saip_dpal.models.losses import (AttentionRelationLoss,
                                              CrossScaleMatchingLoss)

# ----------------------------------------------------------- projection head


def small_head(**kwargs):
    cfg = dict(
        in_channels=12,
        hidden_channels=20,
        bottleneck_channels=8,
        out_channels=32)
    cfg.update(kwargs)
    head = MODELS.build(dict(type='SAIPProjectionHead', **cfg))
    head.init_weights()
    return head


def test_projection_head_shapes_and_bottleneck():
    torch.manual_seed(0)
    head = small_head()
    assert isinstance(head, SAIPProjectionHead)
    x = torch.randn(5, 12)
    out = head(x)
    assert out.shape == (5, 32)
    z = head.bottleneck(x)
    assert z.shape == (5, 8)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(5))
    # the output is the unit-row last layer applied to the unit bottleneck
    w = head.last_layer.weight
    torch.testing.assert_close(out, z @ w.t())
    assert out.abs().max() <= 1 + 1e-5  # cosine similarities
    # the default sizes of the paper
    full = SAIPProjectionHead(192)
    assert [m.out_features for m in full.mlp
            if hasattr(m, 'out_features')] == [2048, 2048, 256]
    assert full.last_layer.weight.shape == (65536, 256)


def test_last_layer_norm_fixed_direction_trained():
    torch.manual_seed(0)
    head = small_head()
    last = head.last_layer
    assert not last.weight_g.requires_grad and last.weight_v.requires_grad
    # state-dict keys are plain
    assert {'last_layer.weight_g',
            'last_layer.weight_v'} <= set(head.state_dict())
    # rows of the effective weight start with unit norm
    torch.testing.assert_close(last.weight.norm(dim=1), torch.ones(32))
    before = last.weight.detach().clone()
    v_before = last.weight_v.detach().clone()
    opt = torch.optim.SGD([p for p in head.parameters() if p.requires_grad],
                          lr=1.)
    head(torch.randn(6, 12)).pow(2).sum().backward()
    assert last.weight_g.grad is None
    opt.step()
    after = last.weight.detach()
    torch.testing.assert_close(last.weight_g.detach(), torch.ones(32, 1))
    torch.testing.assert_close(after.norm(dim=1), torch.ones(32))
    assert not torch.allclose(after, before, atol=1e-4)
    assert not torch.allclose(last.weight_v, v_before)
    # a deep copy (EMA teacher) computes the same outputs
    x = torch.randn(3, 12)
    torch.testing.assert_close(copy.deepcopy(head)(x), head(x))


def test_last_layer_norm_trainable_when_asked():
    head = small_head(norm_last_layer=False)
    assert head.last_layer.weight_g.requires_grad
    head(torch.randn(4, 12)).sum().backward()
    assert head.last_layer.weight_g.grad is not None


# ------------------------------------------------------------ matching loss


def matching_by_hand(students, teachers, center, t_temp=0.04, s_temp=0.1):
    """Explicit loops over (teacher i, student j != i) and the batch."""
    total, pairs = 0., 0
    for i, t in enumerate(teachers):
        p = torch.softmax((t.double() - center.double()) / t_temp, dim=-1)
        for j, s in enumerate(students):
            if i == j:
                continue
            log_q = torch.log_softmax(s.double() / s_temp, dim=-1)
            per_sample = [-(p[b] * log_q[b]).sum() for b in range(t.shape[0])]
            total += sum(per_sample) / len(per_sample)
            pairs += 1
    return total / pairs


def test_matching_loss_by_hand_and_center_ema():
    torch.manual_seed(0)
    B, K = 3, 32
    loss_fn = MODELS.build(dict(type='CrossScaleMatchingLoss', out_channels=K))
    assert loss_fn.center.shape == (1, K) and not loss_fn.center.any()
    assert (loss_fn.student_temp, loss_fn.teacher_temp,
            loss_fn.center_momentum) == (0.1, 0.04, 0.9)
    for step in range(2):  # the second step uses a non-zero center
        students = [torch.randn(B, K) for _ in range(5)]
        teachers = [torch.randn(B, K) for _ in range(2)]
        center = loss_fn.center.clone()
        loss = loss_fn(students, teachers)
        expected = matching_by_hand(students, teachers, center)
        assert loss.dtype == torch.float32
        torch.testing.assert_close(loss.double(), expected)
        batch_center = torch.cat(teachers).mean(0, keepdim=True)
        torch.testing.assert_close(loss_fn.center,
                                   0.9 * center + 0.1 * batch_center)
    assert step == 1 and loss_fn.center.abs().sum() > 0


def test_matching_loss_excludes_same_view_pairs():
    torch.manual_seed(0)
    K = 16
    loss_fn = CrossScaleMatchingLoss(out_channels=K)
    t = [torch.randn(2, K) for _ in range(2)]
    s = [torch.randn(2, K) for _ in range(3)]

    def pair(i, j):  # l(teacher i, student j) with the zero center
        p = torch.softmax(t[i].double() / 0.04, dim=-1)
        log_q = torch.log_softmax(s[j].double() / 0.1, dim=-1)
        return -(p * log_q).sum(-1).mean()

    loss = loss_fn(s, t, update_center=False).double()
    cross = [pair(0, 1), pair(0, 2), pair(1, 0), pair(1, 2)]
    torch.testing.assert_close(loss, sum(cross) / 4)
    all_pairs = cross + [pair(0, 0), pair(1, 1)]
    assert not torch.isclose(loss, sum(all_pairs) / 6)
    # student view 0 only meets teacher view 1: making it equal to teacher
    # view 0 (a free same-view match) leaves l(t0, .) terms unchanged
    s0 = s[0]
    s[0] = t[0] * 10
    torch.testing.assert_close(
        loss_fn(s, t, update_center=False).double(),
        (pair(0, 1) + pair(0, 2) + pair(1, 0) + pair(1, 2)) / 4)
    s[0] = s0
    with pytest.raises(ValueError):
        loss_fn([s[0]], [t[0]])
    with pytest.raises(ValueError):
        loss_fn([s[0]], t)


def test_matching_loss_gradients_reach_students_only():
    torch.manual_seed(0)
    K = 16
    loss_fn = CrossScaleMatchingLoss(out_channels=K)
    students = [torch.randn(2, K, requires_grad=True) for _ in range(4)]
    teachers = [torch.randn(2, K, requires_grad=True) for _ in range(2)]
    loss_fn(students, teachers).backward()
    assert all(s.grad is not None and s.grad.abs().sum() > 0 for s in students)
    assert all(t.grad is None for t in teachers)
    assert not loss_fn.center.requires_grad


def test_matching_loss_fp32_under_autocast():
    torch.manual_seed(0)
    K = 16
    loss_fn = CrossScaleMatchingLoss(out_channels=K)
    students = [torch.randn(2, K).bfloat16() for _ in range(3)]
    teachers = [s.clone() for s in students[:2]]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = loss_fn(students, teachers)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert loss_fn.center.dtype == torch.float32
    expected = matching_by_hand([s.float() for s in students],
                                [t.float() for t in teachers],
                                torch.zeros(1, K))
    torch.testing.assert_close(loss.double(), expected)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _center_worker(rank, port, teachers_per_rank, students_per_rank, queue):
    os.environ['MASTER_ADDR'] = '127.0.0.1'
    os.environ['MASTER_PORT'] = str(port)
    torch.set_num_threads(1)
    torch_dist.init_process_group(
        'gloo', rank=rank, world_size=2, timeout=timedelta(seconds=60))
    try:
        loss_fn = CrossScaleMatchingLoss(out_channels=8)
        loss = loss_fn(students_per_rank[rank], teachers_per_rank[rank])
        queue.put((rank, loss.item(), loss_fn.center.tolist()))
        torch_dist.barrier()
    finally:
        torch_dist.destroy_process_group()


def test_center_is_all_reduced_across_two_processes():
    torch.manual_seed(0)
    B, K = 3, 8
    teachers = [[torch.randn(B, K) + 3 * r for _ in range(2)]
                for r in range(2)]
    students = [[torch.randn(B, K) for _ in range(3)] for r in range(2)]
    ctx = mp.get_context('fork')
    queue = ctx.SimpleQueue()
    mp.start_processes(
        _center_worker,
        args=(_free_port(), teachers, students, queue),
        nprocs=2,
        join=True,
        start_method='fork')
    results = sorted(queue.get() for _ in range(2))
    all_teachers = torch.cat([torch.cat(t) for t in teachers])
    expected_center = 0.1 * all_teachers.mean(0, keepdim=True)
    results = [(r, l, torch.tensor(c)) for r, l, c in results]
    for rank, loss, center in results:
        torch.testing.assert_close(center, expected_center)
        # the loss itself is local: it uses the rank's own outputs
        torch.testing.assert_close(
            torch.tensor(loss, dtype=torch.float64),
            matching_by_hand(students[rank], teachers[rank], torch.zeros(1,
                                                                         K)),
            rtol=1e-5,
            atol=1e-6)
    assert torch.equal(results[0][2], results[1][2])
    # and differs from each rank's local EMA
    local = 0.1 * torch.cat(teachers[0]).mean(0, keepdim=True)
    assert not torch.allclose(results[0][2], local)


# -------------------------------------------------- attention relation loss


def random_maps(*shape, generator=None):
    return torch.randn(*shape, generator=generator).softmax(dim=-1)


def kl_by_hand(t, s):
    t, s = t.double(), s.double()
    B, H, N, _ = t.shape
    total = 0.
    for b in range(B):
        for h in range(H):
            for i in range(N):
                total += sum(t[b, h, i, j] *
                             torch.log(t[b, h, i, j] / s[b, h, i, j])
                             for j in range(N))
    return total / (B * H * N)


def test_attention_relation_loss_by_hand():
    torch.manual_seed(0)
    loss_fn = MODELS.build(dict(type='AttentionRelationLoss'))
    t, s = random_maps(2, 2, 4, 4), random_maps(2, 2, 4, 4)
    loss = loss_fn(t, s)
    assert loss > 0
    torch.testing.assert_close(loss.double(), kl_by_hand(t, s))
    assert loss_fn(t, t).abs() < 1e-6
    # log-probability inputs give the same value
    torch.testing.assert_close(
        AttentionRelationLoss(log_input=True)(t.log(), s.log()), loss)
    # per view the q.k and v.v terms are added, then the views averaged
    views_t = [(random_maps(2, 2, 4, 4), random_maps(2, 2, 4, 4))
               for _ in range(2)]
    views_s = [(random_maps(2, 2, 4, 4), random_maps(2, 2, 4, 4))
               for _ in range(2)]
    each = [kl_by_hand(a, b) for tv, sv in zip(views_t, views_s)
            for a, b in zip(tv, sv)]
    want = sum(each) / 2  # twice the mean over the 4 maps
    torch.testing.assert_close(loss_fn(views_t, views_s).double(), want)
    torch.testing.assert_close(
        AttentionRelationLoss(loss_weight=0.5)(views_t,
                                               views_s).double(), 0.5 * want)
    # one map per view: the mean over views
    torch.testing.assert_close(
        loss_fn([a for a, _ in views_t], [a for a, _ in views_s]).double(),
        (each[0] + each[2]) / 2)
    with pytest.raises(ValueError):
        loss_fn(views_t, views_s[:1])
    with pytest.raises(ValueError):
        loss_fn(views_t, [views_s[0][:1], views_s[1]])


def test_attention_relation_loss_zeros_and_gradients():
    torch.manual_seed(0)
    loss_fn = AttentionRelationLoss()
    t = torch.zeros(1, 1, 3, 3)
    t[..., 0] = 1.  # one-hot rows: 0 * log 0 terms
    s = random_maps(1, 1, 3, 3).requires_grad_()
    t.requires_grad_()
    loss = loss_fn(t, s)
    assert torch.isfinite(loss)
    torch.testing.assert_close(loss, -s[..., 0].log().mean())
    loss.backward()
    assert t.grad is None and torch.isfinite(s.grad).all()
    # a student zero where the teacher has mass stays finite (clamped)
    assert torch.isfinite(loss_fn(random_maps(1, 1, 3, 3), t.detach()))


def test_attention_relation_loss_fp32_under_bf16_autocast():
    torch.manual_seed(0)
    t, s = random_maps(2, 3, 8, 8), random_maps(2, 3, 8, 8)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = AttentionRelationLoss()(t.bfloat16(), s.bfloat16())
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    torch.testing.assert_close(
        loss.double(), kl_by_hand(t.bfloat16().float(),
                                  s.bfloat16().float()))
