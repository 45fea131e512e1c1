"""mmpose top-down pose fine-tuning configs (ALGORITHMS.md section 3).

Every config builds under the ``mmpose`` scope and loads a backbone file
extracted from a DPAL / SAIP student unchanged; the synthetic config trains
and evaluates through the Runner; layer-wise lr decay follows 0.75.
"""
import math
import os.path as osp

import pytest
import torch

from conftest import tiny_train_cfg
from downstream_helpers import (  # noqa: F401 (autouse fixture)
    assert_loads_student, build_scoped, load_scoped, restore_default_scope)

ARCH_CONFIGS = {
    'dpal-vit-tiny': 'pose/td-hm_dpal-vit-tiny_8xb64-210e_coco-256x192.py',
    'saip-vit-tiny': 'pose/td-hm_saip-vit-tiny_8xb64-210e_coco-256x192.py',
    'dpal-vit-small': 'pose/td-hm_dpal-vit-small_8xb64-210e_coco-256x192.py',
    'dpal-vit-base': 'pose/td-hm_dpal-vit-base_8xb64-210e_coco-256x192.py',
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
    assert backbone_cfg.init_cfg.type == 'Pretrained'
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
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    cfg = load_scoped(ARCH_CONFIGS['dpal-vit-tiny'], 'mmpose')
    cfg.model.backbone.init_cfg = None
    model = build_scoped(cfg, 'mmpose')
    with DefaultScope.overwrite_default_scope('mmpose'):
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr, rate = 5e-4, 0.75
    lr_of, wd_of, seen = {}, {}, []
    for group in optim_wrapper.optimizer.param_groups:
        for name in group['param_names']:
            lr_of[name] = group['lr']
            wd_of[name] = group['weight_decay']
            seen.append(name)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert sorted(seen) == sorted(trainable)  # each parameter exactly once

    def lr(prefix):
        lrs = {v for k, v in lr_of.items() if k.startswith(prefix)}
        assert len(lrs) == 1, (prefix, lrs)
        return lrs.pop()

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


def test_synthetic_config_trains_and_evaluates(synthetic_root, tmp_path):
    from mmengine.runner import Runner
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

    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    assert osp.isfile(osp.join(str(tmp_path), 'iter_2.pth'))
    metrics = runner.val()
    assert 'coco/AP' in metrics and 0 <= metrics['coco/AP'] <= 1
