"""The paper configs carry the reference's recipe: student head counts,
teacher grid, weight decay, initialisation, EMA start and teacher
temperature (docs/fidelity.md)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from downstream_helpers import attention_heads
from pretrain_helpers import (CONFIG_DIR, DPAL_ALIASES, SAIP_CONFIGS,
                              build_model)

#: per DPAL alias: student width and the heads of its 12 ViT blocks (the
#: last block's follow the teacher's), or the Swin arch
STUDENTS = {
    'dpal_pathb_vit-tiny.py': (192, [6] * 11 + [12]),
    'dpal_pathb_vit-small.py': (384, [6] * 11 + [12]),
    'dpal_pathl_vit-tiny.py': (192, [6] * 11 + [16]),
    'dpal_pathl_vit-base.py': (768, [12] * 11 + [16]),
    'dpal_pathb_swin-tiny.py': 'tiny',
    'dpal_pathb_swin-small.py': 'small',
    'dpal_soliderb_swin-tiny.py': 'tiny',
    'dpal_soliderb_swin-small.py': 'small',
}


def _cfg(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def _meta_build(cfg_dict):
    from mmengine.registry import init_default_scope

    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    import projects.saip_dpal  # noqa: F401
    with torch.device('meta'):
        return MODELS.build(cfg_dict)


def test_every_dpal_alias_is_listed():
    assert sorted(STUDENTS) == sorted(DPAL_ALIASES)


@pytest.mark.parametrize('config', DPAL_ALIASES)
def test_dpal_student_heads_and_teacher_grid(config):
    cfg = _cfg(config)
    want = STUDENTS[config]
    if isinstance(want, str):
        assert cfg.model.backbone.type == 'SwinTransformer'
        assert cfg.model.backbone.arch == want
    else:
        width, heads = want
        student = _meta_build(cfg.model.backbone)
        assert student.embed_dims == width
        assert attention_heads(student) == heads
    if cfg.model.teacher.type == 'VisionTransformer':  # PATH: 14x14 grid
        assert tuple(cfg.model.teacher.img_size) == (224, 224)


@pytest.mark.parametrize('config', SAIP_CONFIGS)
def test_saip_heads_and_decoders(config):
    cfg = _cfg(config)
    student = _meta_build(cfg.model.backbone)
    assert attention_heads(student) == [{'saip_vit-tiny.py': 3,
                                         'saip_vit-small.py': 6}[config]] * 12
    assert cfg.model.reconstruction_head.decoder.num_heads == 16
    search = _meta_build(cfg.model.search_head)
    assert search.cross_block.attn.num_heads == 16
    assert [b.attn.num_heads for b in search.query_blocks] == [16, 16]


@pytest.mark.parametrize('config', SAIP_CONFIGS + ['dpal_pathb_vit-tiny.py'])
def test_decay_exempts_only_1d_parameters_and_biases(config):
    cfg = _cfg(config)
    if 'teacher_checkpoint' in cfg.model:
        cfg.model.teacher_checkpoint = None
    model = build_model(cfg)
    wrapper = dict(cfg.optim_wrapper, type='OptimWrapper')
    wrapper.pop('loss_scale', None)
    optim = build_optim_wrapper(model, wrapper)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed, exempt = set(), set()
    for group in optim.optimizer.param_groups:
        for p in group['params']:
            (exempt if group['weight_decay'] == 0 else decayed).add(
                names[id(p)])
    for name in decayed | exempt:
        p = dict(model.named_parameters())[name]
        assert (name in exempt) == (p.ndim <= 1 or name.endswith('.bias')), \
            name
    assert {'backbone.pos_embed', 'backbone.cls_token'} <= decayed
    if 'saip' in config:
        assert 'reconstruction_head.decoder.mask_token' in decayed
    else:
        assert {'neck.gate_token', 'neck.pattern_queries'} <= decayed


@pytest.mark.parametrize('config',
                         ['saip_vit-tiny.py', 'dpal_pathb_vit-tiny.py'])
def test_students_start_as_the_reference_initialises_them(config):
    import torch.nn as nn
    cfg = _cfg(config)
    if 'teacher_checkpoint' in cfg.model:
        cfg.model.teacher_checkpoint = None
    torch.manual_seed(0)
    vit = build_model(cfg).backbone
    pos, cls = vit.pos_embed.detach(), vit.cls_token.detach()
    assert 0 <= pos.min() and pos.max() < 1  # U[0, 1)
    assert abs(pos.mean().item() - 0.5) < 0.01
    assert abs(cls.std().item() - 0.02) < 0.005
    w = vit.patch_embed.projection.weight
    bound = (6 / (w.shape[0] + w[0].numel()))**0.5  # Xavier-uniform
    assert w.abs().max() <= bound and w.abs().max() > 0.95 * bound
    for name, m in vit.named_modules():
        if isinstance(m, nn.Linear):
            bound = (6 / sum(m.weight.shape))**0.5
            assert m.weight.abs().max() <= bound, name
            assert torch.count_nonzero(m.bias) == 0, name
    # 'default' keeps mmpretrain's own (truncated normal positions)
    cfg.model.backbone_init = 'default'
    vit = build_model(cfg).backbone
    assert vit.pos_embed.min() < 0 and vit.pos_embed.std() < 0.05


def test_saip_teacher_schedule_and_temperature_are_the_papers():
    from types import SimpleNamespace

    from projects.saip_dpal.engine.hooks import (EMAUpdateHook,
                                                 TeacherTemperatureHook)
    from mmpretrain.registry import HOOKS
    cfg = _cfg('saip_vit-tiny.py')
    model = build_model(cfg)
    wrapper = SimpleNamespace(
        _accumulative_counts=cfg.optim_wrapper.accumulative_counts)
    runner = SimpleNamespace(model=model, optim_wrapper=wrapper,
                             max_iters=4 * 1000)
    EMAUpdateHook().before_train(runner)
    assert model.momentum_encoder.total_steps == 1000
    assert model.momentum_encoder.momentum_at(0) == pytest.approx(1 - 0.996**4)
    assert model.momentum_encoder.momentum_at(999) == 0.
    temp = next(h for h in cfg.custom_hooks
                if h.type == 'TeacherTemperatureHook')
    hook = HOOKS.build(temp)
    assert isinstance(hook, TeacherTemperatureHook)
    warmup = hook.total_warmup_iters(
        SimpleNamespace(train_dataloader=range(500)))
    assert warmup == 0
    assert hook.temperature(0, warmup) == hook.temperature(10**6,
                                                           warmup) == 0.04
    assert cfg.model.matching_head.loss_rep.teacher_temp == 0.04
