"""Checkpoints written before the restructuring (SAIP's ``teacher``,
``head``, ``neck``, ``loss_csm``; DPAL's ``ema_backbone``) load strictly,
each tensor into the module that took over its job. The key lists and
shapes were read from the demo models at commit dd008c2."""
import json
import os.path as osp

import pytest
import torch
from pretrain_helpers import (DPAL_DEMO, SAIP_DEMO, build_model, tiny_cfg,
                              with_small_teacher)

KEYS = osp.join(osp.dirname(osp.dirname(__file__)), 'data',
                'old_checkpoint_keys')


@pytest.mark.parametrize('name,config,moved', [
    ('saip', SAIP_DEMO, {
        'head.mlp.0.weight': 'matching_head.projection.mlp.0.weight',
        'neck.mask_token': 'reconstruction_head.decoder.mask_token',
        'loss_csm.center': 'matching_head.loss_rep.center',
        'teacher.module.head.last_layer.weight_v':
        'momentum_encoder.module.projection.last_layer.weight_v',
        'teacher.module.backbone.cls_token':
        'momentum_encoder.module.backbone.cls_token',
        'teacher.steps': 'momentum_encoder.steps',
    }),
    ('dpal', DPAL_DEMO, {
        'ema_backbone.module.cls_token':
        'momentum_encoder.module.backbone.cls_token',
        'ema_backbone.steps': 'momentum_encoder.steps',
        'neck.pattern_queries': 'neck.pattern_queries',
    }),
])
def test_old_keys_load_strictly_into_their_new_modules(
        name, config, moved, synthetic_root):
    with open(osp.join(KEYS, f'{name}_demo_dd008c2.json')) as f:
        shapes = json.load(f)
    cfg = tiny_cfg(config, synthetic_root)
    if name == 'dpal':
        with_small_teacher(cfg)
    model = build_model(cfg)
    new = model.state_dict()
    assert not {k for k, t in moved.items() if k != t} & set(new)
    g = torch.Generator().manual_seed(0)
    old = {}
    for key, shape in shapes.items():
        like = new.get(key)  # dtype of an unmoved key, else a float
        old[key] = torch.randn(shape, generator=g).to(
            like.dtype if like is not None else torch.float32)
    for key, target in moved.items():
        old[key] = torch.randn(shapes[key], generator=g).to(
            new[target].dtype)
    result = model.load_state_dict(old, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    now = model.state_dict()
    for key, target in moved.items():
        assert torch.equal(now[target], old[key]), (key, target)
