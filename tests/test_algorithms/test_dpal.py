"""DPAL: every shipped pair trains, the teacher stays frozen, each loss term
answers to its own view, and the student learns."""
import copy

import numpy as np
import pytest
import torch
from pretrain_helpers import (DPAL_ALIASES, DPAL_DEMO, TINY_SIZES,
                              build_model, one_batch, shrink_views,
                              tiny_cfg, with_small_teacher)
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mmpretrain.registry import MODELS

ALIGN = ('loss_global', 'loss_local', 'loss_relation')


@pytest.mark.parametrize('config', DPAL_ALIASES)
def test_every_pair_trains_one_step(config, synthetic_root):
    cfg = tiny_cfg(config, synthetic_root)
    model = build_model(cfg)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    student_before = copy.deepcopy(model.backbone.state_dict())

    # the optimizer sees the student and the decoder, never the teacher/EMA
    optimised = {id(p) for g in optim.optimizer.param_groups
                 for p in g['params']}
    trainable = {id(p) for n, p in model.named_parameters()
                 if n.startswith(('backbone.', 'neck.'))}
    assert optimised == trainable
    # as the reference: no weight decay on 1-D parameters and biases only
    # (position embeddings, tokens and pattern queries are decayed)
    names = {id(p): n for n, p in model.named_parameters()}
    for g in optim.optimizer.param_groups:
        for p in g['params']:
            name = names[id(p)]
            no_decay = p.ndim <= 1 or name.endswith('.bias')
            assert (g['weight_decay'] == 0) == no_decay, name

    log = model.train_step(one_batch(cfg), optim)
    for key in ALIGN + ('loss_gate', 'loss_expert'):
        assert torch.isfinite(log[key]), (key, log[key])
    assert log['loss_gate'] > 0 and log['loss_relation'] > 0

    assert not model.teacher.training and model.backbone.training
    for name, p in model.teacher.named_parameters():
        assert p.grad is None and not p.requires_grad, name
        # unchanged, up to the bf16 storage of a bf16 teacher's matmuls
        assert torch.equal(p, teacher_before[name].to(p.dtype)), name
    changed = [k for k, v in model.backbone.state_dict().items()
               if not torch.equal(v, student_before[k])]
    assert len(changed) > 0.9 * len(student_before)


def _tiny_model_and_views(synthetic_root):
    cfg = tiny_cfg(DPAL_DEMO, synthetic_root)
    torch.manual_seed(0)
    model = build_model(cfg)
    data = model.data_preprocessor(one_batch(cfg), True)
    return model, cfg, data['inputs']


def test_each_alignment_term_answers_to_its_own_view(synthetic_root):
    model, _, views = _tiny_model_and_views(synthetic_root)
    with torch.no_grad():
        base = model.loss(views)

        def changed(name):
            perturbed = dict(views)
            perturbed[name] = torch.randn_like(views[name])
            out = model.loss(perturbed)
            return {k for k in ALIGN if not torch.allclose(out[k], base[k])}

        assert changed('crowd') == {'loss_relation'}
        assert changed('pasted_local') == {'loss_global'}  # a local view
        assert changed('global') == {'loss_global', 'loss_local'}


@pytest.mark.slow
def test_fifty_steps_on_one_batch_lower_the_loss(synthetic_root):
    cfg = with_small_teacher(tiny_cfg(DPAL_DEMO, synthetic_root))
    torch.manual_seed(0)
    model = build_model(cfg)
    cfg.optim_wrapper.optimizer.lr = 5e-4
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = one_batch(cfg, indices=(0, 1, 2, 3))
    totals = []
    for _ in range(50):
        log = model.train_step(batch, optim)
        totals.append(float(sum(v for k, v in log.items() if 'loss' in k)))
    first, last = np.mean(totals[:3]), np.mean(totals[-3:])
    assert last < 0.5 * first, (first, last)


def test_ema_copy_follows_the_student_by_the_cosine_rule(synthetic_root):
    from types import SimpleNamespace

    from projects.saip_dpal.engine.hooks import EMAUpdateHook
    cfg = tiny_cfg(DPAL_DEMO, synthetic_root)
    model = build_model(cfg)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    runner = SimpleNamespace(model=model, optim_wrapper=optim, max_iters=10)
    hook = EMAUpdateHook()
    hook.before_train(runner)
    batch = one_batch(cfg)
    ema = model.momentum_encoder
    assert not any(p.requires_grad for p in ema.parameters())
    key = 'backbone.cls_token'
    start = model.state_dict()[key].clone()
    assert torch.equal(ema.module.state_dict()[key], start)  # from init
    expect = start
    for step in range(2):
        model.train_step(batch, optim)
        hook.after_train_iter(runner, step)
        now = model.state_dict()[key].clone()
        assert not torch.equal(now, expect)
        # decay 0.996 -> 1 by a cosine over the 10 optimizer steps
        m = 0.004 * (np.cos(np.pi * step / 9) + 1) / 2
        expect = (1 - m) * expect + m * now
        assert torch.allclose(ema.module.state_dict()[key], expect,
                              atol=1e-7)
    assert int(ema.steps) == 2
    # with gradient accumulation only the stepping iterations update it
    optim_acc = build_optim_wrapper(
        model, dict(cfg.optim_wrapper, accumulative_counts=2))
    optim_acc.initialize_count_status(model, 0, 4)
    runner.optim_wrapper = optim_acc
    for i in range(2):
        model.train_step(batch, optim_acc)
        hook.after_train_iter(runner, i)
        assert int(ema.steps) == 2 + i


def test_gate_weight_hook_on_plain_and_wrapped_models(synthetic_root):
    from types import SimpleNamespace

    import torch.nn as nn

    from projects.saip_dpal.engine.hooks import GateLossWeightHook
    model, _, _ = _tiny_model_and_views(synthetic_root)
    hook = GateLossWeightHook(milestone=20, weights=(0.1, 0.01))
    # a real DDP wrapper class around the model, without a process group
    wrapped = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    nn.Module.__init__(wrapped)
    wrapped.module = model
    for runner_model in (model, wrapped):
        for epoch, weight in ((0, 0.1), (19, 0.1), (20, 0.01), (150, 0.01)):
            model.gate_loss_weight = -1.
            hook.before_train_epoch(
                SimpleNamespace(model=runner_model, epoch=epoch))
            assert model.gate_loss_weight == weight


def test_crowd_view_blends_the_two_persons_side_by_side(synthetic_root):
    from projects.saip_dpal.datasets.transforms import CrowdCompositeViews
    cfg = tiny_cfg(DPAL_DEMO, synthetic_root)
    views_cfg = copy.deepcopy(cfg.train_dataloader.dataset.pipeline[1])
    views_cfg.pop('type')
    # no augmentation after the crops: the blend can be recomputed
    for key in ('global_pipeline', 'local_pipeline', 'canvas_pipeline'):
        views_cfg[key] = views_cfg[key][:1]
    views = CrowdCompositeViews(**views_cfg)
    img = np.random.RandomState(0).randint(0, 255, (200, 90, 3), np.uint8)
    np.random.seed(1)
    out = views(dict(img=img))
    assert list(out['img']) == ['global', 'locals', 'pasted_local', 'crowd']
    g, crowd = out['img']['global'], out['img']['crowd']
    (l1, ), l2 = out['img']['locals'], out['img']['pasted_local']
    assert g.shape == (64, 32, 3) and crowd.shape == (64, 64, 3)
    assert l1.shape == l2.shape == (32, 32, 3)
    boxes = out['paste_boxes']
    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = (boxes['pasted_local'],
                                                  boxes['region'])
    assert ax2 - ax1 == bx2 - bx1 == 32 and ay2 - ay1 == by2 - by1 == 32
    assert bx1 >= ax2  # side by side, never overlapping
    # redo the draw: the same seed gives the same canvas and boxes
    np.random.seed(1)
    views.global_pipeline(dict(img=img))
    views.local_pipeline(dict(img=img))
    views.local_pipeline(dict(img=img))
    canvas = views.canvas_pipeline(dict(img=views.pool.sample()))['img']
    patch = crowd[ay1:ay2, ax1:ax2].astype(float)
    expect = 0.7 * l2 + 0.3 * canvas[ay1:ay2, ax1:ax2]
    assert np.abs(patch - expect).max() <= 1
    outside = np.ones(crowd.shape[:2], bool)
    outside[ay1:ay2, ax1:ax2] = outside[by1:by2, bx1:bx2] = False
    assert np.array_equal(crowd[outside], canvas[outside])


def test_paste_boxes_that_do_not_fit_are_a_clear_error(synthetic_root):
    from projects.saip_dpal.datasets.transforms import CrowdCompositeViews
    from projects.saip_dpal.utils import InputDataError
    cfg = tiny_cfg(DPAL_DEMO, synthetic_root)
    views_cfg = shrink_views(
        cfg.train_dataloader.dataset.pipeline[1],
        dict(TINY_SIZES, local_pipeline=(48, 40)))
    views_cfg.pop('type')
    views = CrowdCompositeViews(**views_cfg)
    img = np.zeros((100, 50, 3), np.uint8)
    with pytest.raises(InputDataError, match=r'^2 paste boxes of 48x40 .*'
                       r'do not fit side by side on a 64x64 canvas$'):
        views(dict(img=img))


def test_missing_canvas_folder_is_named(synthetic_root, tmp_path):
    from projects.saip_dpal.datasets.transforms import CanvasPool
    from projects.saip_dpal.utils import InputDataError
    with pytest.raises(InputDataError, match='canvas folder not found: '):
        CanvasPool(str(tmp_path / 'nope'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(InputDataError, match='no canvas images found'):
        CanvasPool(str(tmp_path / 'empty'))


def test_state_dict_leaves_the_teacher_out_and_loads_strictly(
        synthetic_root):
    cfg = tiny_cfg(DPAL_DEMO, synthetic_root)
    model = build_model(cfg)
    state = model.state_dict()
    assert not [k for k in state if k.startswith('teacher.')]
    ema = 'momentum_encoder.module.backbone.'
    assert any(k.startswith(ema) for k in state)
    teacher = copy.deepcopy(model.teacher.state_dict())
    other = build_model(cfg)  # another random student and teacher
    result = other.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for k, v in other.backbone.state_dict().items():
        assert torch.equal(v, model.backbone.state_dict()[k]), k
    # the receiving model keeps its own teacher (from its teacher_checkpoint)
    assert any(not torch.equal(v, teacher[k])
               for k, v in other.teacher.state_dict().items())


def test_losses_stay_fp32_and_finite_under_autocast(synthetic_root):
    """bf16 autocast (the CPU's AMP): the mask, relations and losses are
    computed in fp32."""
    model, _, views = _tiny_model_and_views(synthetic_root)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        # large activations
        losses = model.loss({k: v * 30 for k, v in views.items()})
    for key, value in losses.items():
        assert value.dtype == torch.float32, key
        assert torch.isfinite(value), key


@pytest.mark.parametrize('config', [DPAL_DEMO, 'dpal_soliderb_swin-tiny.py'])
def test_loss_reads_no_device_value_on_the_host(config, synthetic_root,
                                                meta_autocast):
    """The whole loss runs on the meta device, where any host read of a
    tensor value (.item(), bool(), nonzero, a data-dependent shape) raises
    and blocking host-to-device copies are counted: on a GPU each would be
    a host-device synchronisation."""
    from projects.saip_dpal.utils.host_syncs import HostSyncCounter
    cfg = tiny_cfg(config, synthetic_root)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model).to('meta')

    def view(*size):
        return torch.empty(2, 3, *size, device='meta')

    views = {'global': view(64, 32), 'locals': [view(32, 32)],
             'pasted_local': view(32, 32), 'crowd': view(64, 64)}
    with HostSyncCounter('meta') as syncs:
        losses = model.loss(views)
    assert syncs.found == []
    assert set(losses) == set(ALIGN) | {'loss_gate', 'loss_expert'}
    assert all(v.device.type == 'meta' and v.shape == () for v in
               losses.values())
    with pytest.raises(Exception, match='meta'), \
            HostSyncCounter('meta') as syncs:
        losses['loss_global'].item()  # what the check relies on
    assert len(syncs.found) == 1 and 'test_dpal.py' in syncs.found[0]


def test_teacher_runs_in_bfloat16_where_the_device_has_it(synthetic_root):
    """``teacher_dtype='bfloat16'`` (the paper configs): the teacher's
    layers compute in bf16 on a device with native bf16, in fp32 elsewhere;
    the tokens handed on are fp32 and close to the fp32 teacher's. Its
    linear and convolution weights are then kept in bf16 (LayerNorms and
    positions in fp32), which gives what autocast over fp32 weights gives,
    and checkpoints still leave the teacher out."""
    from projects.saip_dpal.models.utils.teacher_precision import (
        fast_bfloat16, teacher_autocast)
    from projects.saip_dpal.models.utils.token_grid import as_tokens
    cfg = tiny_cfg('dpal_pathb_vit-tiny.py', synthetic_root)
    assert cfg.model.teacher_dtype == 'bfloat16'
    model = build_model(cfg)
    fp32 = copy.deepcopy(model)
    fp32.teacher_dtype = None
    seen = []
    linear = next(m for m in model.teacher.modules()
                  if isinstance(m, torch.nn.Linear))
    linear.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad(), teacher_autocast('bfloat16', 'cpu'):
        autocast_only = as_tokens(model.teacher(x)).float()
    seen.clear()
    tokens, grid = model.teacher_tokens(x)
    assert tokens.dtype == torch.float32 and grid == (4, 2)
    bf16 = fast_bfloat16('cpu')
    assert seen == [torch.bfloat16 if bf16 else torch.float32]
    dtypes = {n: p.dtype for n, p in model.teacher.named_parameters()}
    want = torch.bfloat16 if bf16 else torch.float32
    assert dtypes['layers.0.attn.qkv.weight'] == want
    assert dtypes['patch_embed.projection.weight'] == want
    assert dtypes['layers.0.ln1.weight'] == torch.float32
    assert dtypes['pos_embed'] == torch.float32
    torch.testing.assert_close(tokens, autocast_only, rtol=0, atol=0)
    assert not any(k.startswith('teacher.') for k in model.state_dict())
    exact, _ = fp32.teacher_tokens(x)
    error = (tokens - exact).norm() / exact.norm()
    assert error < 0.02, error
    with pytest.raises(ValueError, match='teacher_dtype'):
        MODELS.build(dict(cfg.model, teacher_dtype='float16'))
