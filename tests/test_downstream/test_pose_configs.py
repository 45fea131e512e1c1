"""mmpose top-down pose fine-tuning configs (docs/methods.md section 3).

Every config builds under the ``mmpose`` scope and loads a backbone file
extracted from a DPAL / SAIP student unchanged; the synthetic config trains
and evaluates through the Runner; layer-wise lr decay follows 0.75 for the
ViTs. The Swin configs (3 deconv layers from stride 32, plain AdamW without
decay on norms / biases / position tables) load their students the same
way; Swin-T trains one iteration on the synthetic data at a shrunk input.
"""
import math
import os.path as osp

import pytest
import torch

from conftest import tiny_train_cfg
from downstream_helpers import (  # noqa: F401 (autouse fixture)
    assert_loads_student, build_scoped, load_scoped, lr_and_decay_by_name,
    lr_of_prefix, restore_default_scope)

ARCH_CONFIGS = {
    'dpal-vit-tiny': 'pose/td-hm_dpal-vit-tiny_8xb64-210e_coco-256x192.py',
    'saip-vit-tiny': 'pose/td-hm_saip-vit-tiny_8xb64-210e_coco-256x192.py',
    'dpal-vit-small': 'pose/td-hm_dpal-vit-small_8xb64-210e_coco-256x192.py',
    'saip-vit-small': 'pose/td-hm_saip-vit-small_8xb64-210e_coco-256x192.py',
    'dpal-vit-base': 'pose/td-hm_dpal-vit-base_8xb64-210e_coco-256x192.py',
}
SWIN_CONFIGS = {
    name: f'pose/td-hm_{name}_8xb64-210e_coco-256x192.py'
    for name in ('dpal-swin-tiny', 'dpal-swin-small')
}
SYNTHETIC = 'pose/td-hm_dpal-vit-tiny_1xb16-2e_synthetic-coco-256x192.py'


@pytest.mark.parametrize('name', list(ARCH_CONFIGS))
def test_arch_config_loads_extracted_backbone(name, tmp_path):
    cfg = load_scoped(ARCH_CONFIGS[name], 'mmpose')
    backbone_cfg = cfg.model.backbone
    assert backbone_cfg.type == 'mmpretrain.VisionTransformer'
    assert backbone_cfg.out_type == 'featmap'
    # declared as pretrained; the 256x192 input comes from the codec
    assert backbone_cfg.img_size == (256, 128)
    assert cfg.model.head.decoder.input_size == (192, 256)
    assert backbone_cfg.init_cfg.type == 'StrictPretrained'
    assert cfg.model.head.in_channels == backbone_cfg.arch.embed_dims
    assert cfg.model.head.deconv_out_channels == (256, 256)
    assert cfg.model.head.decoder.heatmap_size == (48, 64)
    assert cfg.model.test_cfg.flip_test
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.75

    model = assert_loads_student(cfg, name, 'mmpose', tmp_path)

    # featmap output at 1/16, heatmaps at 1/4 of the 256x192 input
    if name in ('dpal-vit-tiny', 'saip-vit-tiny'):
        model.eval()
        with torch.no_grad():
            feats = model.backbone(torch.randn(1, 3, 256, 192))
            heatmaps = model.head(feats)
        assert feats[-1].shape == (1, 192, 16, 12)
        assert heatmaps.shape == (1, 17, 64, 48)


def test_layer_decay_param_groups():
    cfg = load_scoped(ARCH_CONFIGS['dpal-vit-tiny'], 'mmpose')
    cfg.model.backbone.init_cfg = None
    model = build_scoped(cfg, 'mmpose')
    lr_of, wd_of = lr_and_decay_by_name(cfg, 'mmpose', model)
    base_lr, rate = 5e-4, 0.75

    def lr(prefix):
        return lr_of_prefix(lr_of, prefix)

    assert math.isclose(lr('head.'), base_lr)
    assert math.isclose(lr('backbone.layers.11.'), base_lr * rate)
    assert math.isclose(lr('backbone.layers.0.'), base_lr * rate**12)
    assert math.isclose(lr('backbone.patch_embed.'), base_lr * rate**13)
    assert math.isclose(lr('backbone.pos_embed'), base_lr * rate**13)
    for i in range(11):
        assert math.isclose(lr(f'backbone.layers.{i}.') / rate,
                            lr(f'backbone.layers.{i + 1}.'))
    assert lr('backbone.layers.0.') < lr('backbone.layers.11.') < lr('head.')
    # no weight decay on biases, norms and the position embedding
    assert wd_of['backbone.layers.3.attn.qkv.weight'] == 0.1
    assert wd_of['backbone.layers.3.attn.qkv.bias'] == 0.
    assert wd_of['backbone.layers.3.ln1.weight'] == 0.
    assert wd_of['backbone.pos_embed'] == 0.
    assert wd_of['backbone.cls_token'] == 0.1  # as in mmpose's groups


def test_layer_decay_groups_are_mmposes_without_its_print(capsys):
    """The pose configs' constructor gives each parameter the lr and weight
    decay of mmpose's LayerDecayOptimWrapperConstructor, which also prints
    its settings as a raw dict; ours prints nothing."""
    cfg = load_scoped(ARCH_CONFIGS['dpal-vit-tiny'], 'mmpose')
    cfg.model.backbone.init_cfg = None
    model = build_scoped(cfg, 'mmpose')
    capsys.readouterr()
    ours = lr_and_decay_by_name(cfg, 'mmpose', model)
    assert capsys.readouterr().out == ''
    cfg.optim_wrapper.constructor = 'LayerDecayOptimWrapperConstructor'
    cfg.optim_wrapper.paramwise_cfg.pop('no_decay_names')
    theirs = lr_and_decay_by_name(cfg, 'mmpose', model)
    assert "'num_layers': 12" in capsys.readouterr().out
    assert ours == theirs


def test_synthetic_config_trains_and_evaluates(synthetic_root, tmp_path):
    from mmengine.registry import RUNNERS
    data_root = osp.join(str(synthetic_root), 'coco') + '/'
    assert osp.isfile(
        data_root + 'annotations/person_keypoints_val2017.json')
    cfg = tiny_train_cfg(SYNTHETIC, data_root, tmp_path, max_iters=2,
                         batch_size=2)
    assert cfg.default_scope == 'mmpose'
    assert cfg.model.head.decoder.input_size == (96, 128)
    assert cfg.val_dataloader.dataset.bbox_file is None  # GT boxes
    cfg.train_cfg.val_interval = 100  # validate once, after training
    cfg.log_processor.by_epoch = False
    cfg.default_hooks.checkpoint.interval = 2
    cfg.val_dataloader.dataset.data_root = data_root
    cfg.val_dataloader.batch_size = 8
    cfg.val_evaluator.ann_file = (
        data_root + 'annotations/person_keypoints_val2017.json')
    cfg.test_dataloader = cfg.val_dataloader
    cfg.test_evaluator = cfg.val_evaluator

    runner = RUNNERS.build(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    assert osp.isfile(osp.join(str(tmp_path), 'iter_2.pth'))
    metrics = runner.val()
    assert 'coco/AP' in metrics and 0 <= metrics['coco/AP'] <= 1


def _assert_swin_param_groups(cfg, model):
    """Plain AdamW groups: one lr, wd 0.1 on weights, none on norms (LN and
    the head's BN), biases and relative position bias tables."""
    lr_of, wd_of = lr_and_decay_by_name(cfg, 'mmpose', model)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert set(lr_of.values()) == {5e-4}  # no layer-wise decay
    block = 'backbone.stages.2.blocks.1.'
    for decayed in (block + 'attn.w_msa.qkv.weight',
                    block + 'ffn.layers.0.0.weight',
                    'backbone.patch_embed.projection.weight',
                    'head.deconv_layers.0.weight', 'head.final_layer.weight'):
        assert wd_of[decayed] == 0.1, decayed
    no_decay = [n for n in trainable
                if n.endswith('.bias') or 'norm' in n
                or 'relative_position_bias_table' in n]
    assert block + 'attn.w_msa.relative_position_bias_table' in no_decay
    assert block + 'norm1.weight' in no_decay
    assert 'backbone.norm3.weight' in no_decay
    assert 'backbone.stages.0.downsample.norm.weight' in no_decay
    no_decay.append('head.deconv_layers.1.weight')  # BatchNorm2d
    for name in no_decay:
        assert wd_of[name] == 0., name


@pytest.mark.parametrize('name', list(SWIN_CONFIGS))
def test_swin_config_loads_extracted_backbone(name, tmp_path):
    cfg = load_scoped(SWIN_CONFIGS[name], 'mmpose')
    backbone_cfg = cfg.model.backbone
    assert backbone_cfg.type == 'mmpretrain.SwinTransformer'
    assert backbone_cfg.arch == name.rsplit('-', 1)[1]
    # declared as the student; the 256x192 input comes from the codec
    assert backbone_cfg.img_size == (256, 128)
    assert backbone_cfg.out_indices == (3, )
    assert backbone_cfg.pad_small_map
    assert backbone_cfg.init_cfg.type == 'StrictPretrained'
    assert cfg.model.head.in_channels == 768
    assert cfg.model.head.deconv_out_channels == (256, 256, 256)
    assert cfg.model.head.decoder.input_size == (192, 256)
    assert cfg.model.head.decoder.heatmap_size == (48, 64)
    assert cfg.model.test_cfg.flip_test
    # the ViT layer-decay constructor and its keys are gone
    assert cfg.optim_wrapper.constructor == 'DefaultOptimWrapperConstructor'
    assert 'layer_decay_rate' not in cfg.optim_wrapper.paramwise_cfg
    assert 'num_layers' not in cfg.optim_wrapper.paramwise_cfg

    # zero missing / unexpected keys, identical weights and heads
    model = assert_loads_student(cfg, name, 'mmpose', tmp_path)

    # last stage at 1/32 (8x6), heatmaps at 1/4 of the 256x192 input
    model.eval()
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, 256, 192))
        heatmaps = model.head(feats)
    assert len(feats) == 1 and feats[0].shape == (1, 768, 8, 6)
    assert heatmaps.shape == (1, 17, 64, 48)

    _assert_swin_param_groups(cfg, model)


def _shrink_pose_input(cfg, input_size, heatmap_size):
    """Swap the codec of a loaded pose config (head decoder, affine input
    size and target encoder of every pipeline) for a smaller one."""
    codec = dict(cfg.model.head.decoder, input_size=input_size,
                 heatmap_size=heatmap_size)
    cfg.model.head.decoder = codec
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for step in cfg[loader].dataset.pipeline:
            if step.type == 'TopdownAffine':
                step.input_size = input_size
            elif step.type == 'GenerateTarget':
                step.encoder = codec


def test_swin_config_trains(synthetic_root, tmp_path):
    """One iteration of the Swin recipe through the Runner on the synthetic
    COCO set (Swin-T; Swin-S differs only in depth and drop path, and its
    model and optimizer are checked above)."""
    from mmengine.registry import RUNNERS
    data_root = osp.join(str(synthetic_root), 'coco') + '/'
    cfg = tiny_train_cfg(SWIN_CONFIGS['dpal-swin-tiny'], data_root, tmp_path,
                         max_iters=1, batch_size=2)
    # 128x96 input: the stride-32 map is 4x3, the 3 deconvs still reach the
    # 1/4 heatmap (32x24)
    _shrink_pose_input(cfg, (96, 128), (24, 32))
    cfg.model.backbone.init_cfg = None
    cfg.default_hooks.checkpoint = None
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None

    runner = RUNNERS.build(cfg)
    runner.train()
    assert runner.iter == 1
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    assert runner.model.head.decoder.heatmap_size == (24, 32)
