"""Shared by the downstream (pose / parsing / ReID / attribute) tests."""
import os.path as osp

import pytest
import torch
from conftest import CONFIG_DIR


@pytest.fixture(autouse=True)
def restore_default_scope():
    """A Runner or a scoped build makes 'mmpose' / 'mmseg' the current
    default scope; drop the scopes a test created so later (mmpretrain)
    tests see the one they had. Autouse where a test module imports it."""
    from mmengine.registry import DefaultScope
    before = set(DefaultScope._instance_dict)
    yield
    for name in set(DefaultScope._instance_dict) - before:
        DefaultScope._instance_dict.pop(name, None)


def load_scoped(config, scope):
    """A downstream config, checked to run in ``scope``, its custom imports
    done (so its registries are filled)."""
    from mmengine.config import Config
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    assert cfg.default_scope == scope
    import_modules_from_strings(**cfg.custom_imports)
    return cfg


def build_scoped(cfg, scope):
    """``cfg.model`` built by the ``scope`` registry."""
    import importlib

    from mmengine.registry import DefaultScope
    models = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return models.build(cfg.model)


def student_state(name):
    """State dict of the pretraining student (256x128), as
    tools/model_converters/extract_backbone.py writes it: plain mmpretrain
    VisionTransformer / SwinTransformer keys, SAIP's pretraining-only
    inter_norm dropped; and its per-block head counts. ``name`` is
    'saip-vit-{tiny,small}' (configs/saip_vit-*.py) or 'dpal-<arch>' for
    an entry of dpal_students.py
    ('dpal-vit-small' -> ``vit_small``, 'dpal-swin-tiny' -> ``swin_tiny``)."""
    from mmengine.config import Config

    from mmpretrain.registry import MODELS
    if name.startswith('saip-'):  # the SAIP pretraining config's student
        student = Config.fromfile(osp.join(
            CONFIG_DIR, name.replace('-', '_', 1) + '.py')).model.backbone
    else:
        students = Config.fromfile(
            osp.join(CONFIG_DIR, '_base_/models/dpal_students.py'))
        student = students[name.replace('dpal-', '').replace('-', '_')]
    torch.manual_seed(0)
    backbone = MODELS.build(student)
    state = {k: v.clone() for k, v in backbone.state_dict().items()
             if not k.startswith('inter_norm.')}
    assert state, name
    return state, attention_heads(backbone)


def attention_heads(backbone):
    """Per-block attention head counts of an mmpretrain VisionTransformer
    (``layers[i].attn``) or SwinTransformer (``stages[i].blocks[j].attn``,
    a shifted-window wrapper around ``w_msa``)."""
    if hasattr(backbone, 'stages'):
        return [block.attn.w_msa.num_heads for stage in backbone.stages
                for block in stage.blocks]
    return [layer.attn.num_heads for layer in backbone.layers]


def assert_loads_student(cfg, name, scope, tmp_path):
    """Save the student ``name`` as an extracted backbone file, point the
    config's Pretrained init at it, build and init the model, and check the
    backbone got exactly those weights and head counts. Returns the model."""
    state, heads = student_state(name)
    ckpt = tmp_path / 'backbone.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in state.items()},
                'meta': dict(source=name)}, ckpt)
    cfg.model.backbone.init_cfg.checkpoint = str(ckpt)
    model = build_scoped(cfg, scope)
    model.init_weights()
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(state), 'missing/unexpected backbone keys'
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key
    # same attention heads as the student (not visible in the shapes)
    assert attention_heads(model.backbone) == heads
    return model


def two_iteration_cfg(config, data_root, work_dir):
    """A shipped mmpretrain downstream config on ``data_root``: 2 training
    iterations of batch 8, then one validation."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    cfg.work_dir = str(work_dir)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(data_root)
    cfg.train_dataloader.batch_size = 8
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=2)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2,
                                        by_epoch=False)
    cfg.log_level = 'WARNING'
    return cfg


def lr_and_decay_by_name(cfg, scope, model):
    """Build ``cfg.optim_wrapper`` for ``model`` in ``scope`` and return
    each parameter's lr and weight decay by name, checking that every
    trainable parameter is in exactly one group."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(scope):
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    name_of = {id(p): n for n, p in model.named_parameters()}
    lr_of, wd_of, seen = {}, {}, []
    for group in optim_wrapper.optimizer.param_groups:
        for param in group['params']:
            name = name_of[id(param)]
            lr_of[name], wd_of[name] = group['lr'], group['weight_decay']
            seen.append(name)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert sorted(seen) == sorted(trainable)  # each parameter exactly once
    return lr_of, wd_of


def lr_of_prefix(lr_of, prefix):
    """The one lr of all parameters whose name starts with ``prefix``."""
    lrs = {v for k, v in lr_of.items() if k.startswith(prefix)}
    assert len(lrs) == 1, (prefix, lrs)
    return lrs.pop()
