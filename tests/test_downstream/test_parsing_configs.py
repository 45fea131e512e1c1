"""mmseg human parsing (LIP) fine-tuning configs (docs/methods.md section 3).

Every config builds under the ``mmseg`` scope and loads a backbone file
extracted from a DPAL / SAIP student unchanged; the synthetic config trains
through the Runner; the training flip swaps LIP's left/right labels, and so
does the flip test (``tools/test.py --tta``); the layer-wise lr decay
constructor decays by 0.65 per block.
"""
import math
import os.path as osp

import numpy as np
import pytest
import torch

from conftest import tiny_train_cfg
from downstream_helpers import (  # noqa: F401 (autouse fixture)
    assert_loads_student, build_scoped, load_scoped, lr_and_decay_by_name,
    lr_of_prefix, restore_default_scope)

ARCH_CONFIGS = {
    'dpal-vit-tiny': 'parsing/uper_dpal-vit-tiny_8xb4-150e_lip-576x384.py',
    'saip-vit-tiny': 'parsing/uper_saip-vit-tiny_8xb4-150e_lip-576x384.py',
}
SYNTHETIC = 'parsing/uper_dpal-vit-tiny_1xb8-2e_synthetic-lip-256x128.py'


@pytest.mark.parametrize('name', list(ARCH_CONFIGS))
def test_arch_config_loads_extracted_backbone(name, tmp_path):
    cfg = load_scoped(ARCH_CONFIGS[name], 'mmseg')
    backbone_cfg = cfg.model.backbone
    assert cfg.model.type == 'EncoderDecoder'
    assert backbone_cfg.type == 'mmpretrain.VisionTransformer'
    assert backbone_cfg.out_type == 'featmap'
    assert tuple(backbone_cfg.out_indices) == (3, 5, 7, 11)
    assert backbone_cfg.img_size == (256, 128)
    assert backbone_cfg.init_cfg.type == 'StrictPretrained'
    assert cfg.crop_size == (576, 384)
    assert cfg.model.data_preprocessor.size == (576, 384)
    assert cfg.model.neck.type == 'Feature2Pyramid'
    assert cfg.model.neck.rescales == [4, 2, 1, 0.5]
    assert cfg.model.decode_head.type == 'UPerHead'
    assert cfg.model.decode_head.num_classes == 20
    assert cfg.model.auxiliary_head.num_classes == 20
    assert cfg.train_dataloader.dataset.type == 'LIPDataset'
    assert cfg.train_cfg.max_epochs == 150
    assert cfg.optim_wrapper.optimizer.lr == 7e-4
    assert cfg.val_evaluator.iou_metrics == ['mIoU']
    assert 'RandomFlipSwapLabels' in [
        t['type'] for t in cfg.train_dataloader.dataset.pipeline]

    model = assert_loads_student(cfg, name, 'mmseg', tmp_path)

    # 576x384 input: a 36x24 token grid, pyramid at strides 4/8/16/32
    model.eval()
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, 576, 384))
        pyramid = model.neck(feats)
    assert [f.shape for f in feats] == [(1, 192, 36, 24)] * 4
    assert [tuple(f.shape[2:]) for f in pyramid] == [
        (144, 96), (72, 48), (36, 24), (18, 12)]


def test_layer_decay_param_groups():
    cfg = load_scoped(ARCH_CONFIGS['dpal-vit-tiny'], 'mmseg')
    cfg.model.backbone.init_cfg = None
    model = build_scoped(cfg, 'mmseg')
    lr_of, wd_of = lr_and_decay_by_name(cfg, 'mmseg', model)
    base_lr, rate = 7e-4, 0.65
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == rate

    def lr(prefix):
        return lr_of_prefix(lr_of, prefix)

    for prefix in ('decode_head.', 'auxiliary_head.', 'neck.',
                   'backbone.ln1.'):
        assert math.isclose(lr(prefix), base_lr), prefix
    assert math.isclose(lr('backbone.layers.11.'), base_lr * rate)
    assert math.isclose(lr('backbone.layers.0.'), base_lr * rate**12)
    for prefix in ('backbone.patch_embed.', 'backbone.pos_embed',
                   'backbone.cls_token'):
        assert math.isclose(lr(prefix), base_lr * rate**13), prefix
    for i in range(11):
        assert math.isclose(lr(f'backbone.layers.{i}.') / rate,
                            lr(f'backbone.layers.{i + 1}.'))
    # no weight decay on biases, norms, position embedding and cls token
    assert wd_of['backbone.layers.3.attn.qkv.weight'] == 0.05
    assert wd_of['decode_head.conv_seg.weight'] == 0.05
    assert wd_of['backbone.layers.3.attn.qkv.bias'] == 0.
    assert wd_of['backbone.layers.3.ln1.weight'] == 0.
    assert wd_of['backbone.pos_embed'] == 0.
    assert wd_of['backbone.cls_token'] == 0.


def test_mmseg_layer_decay_refuses_mmpretrain_vit():
    """Why the project ships its own constructor."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    cfg = load_scoped(ARCH_CONFIGS['dpal-vit-tiny'], 'mmseg')
    cfg.model.backbone.init_cfg = None
    model = build_scoped(cfg, 'mmseg')
    optim_cfg = cfg.optim_wrapper.copy()
    optim_cfg.constructor = 'LayerDecayOptimizerConstructor'
    optim_cfg.paramwise_cfg = dict(num_layers=12, layer_decay_rate=0.65)
    with DefaultScope.overwrite_default_scope('mmseg'), \
            pytest.raises(NotImplementedError):
        build_optim_wrapper(model, optim_cfg)


def _build_transform(**cfg):
    from mmengine.registry import DefaultScope

    import projects.saip_dpal.parsing  # noqa: F401
    from mmseg.registry import TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmseg'):
        return TRANSFORMS.build(dict(type='RandomFlipSwapLabels', **cfg))


def test_flip_swaps_left_right_labels():
    load_scoped(SYNTHETIC, 'mmseg')  # registers the transform
    flip = _build_transform(prob=1.0)
    seg = np.array([[0, 14, 15, 255],
                    [16, 17, 2, 18],
                    [19, 13, 5, 1]], dtype=np.uint8)
    img = np.arange(3 * 4 * 3, dtype=np.uint8).reshape(3, 4, 3)
    out = flip(dict(img=img.copy(), gt_seg_map=seg.copy(),
                    seg_fields=['gt_seg_map']))
    expected = np.array([[255, 14, 15, 0],
                         [19, 2, 16, 17],
                         [1, 5, 13, 18]], dtype=np.uint8)
    assert out['gt_seg_map'].dtype == np.uint8
    np.testing.assert_array_equal(out['gt_seg_map'], expected)
    np.testing.assert_array_equal(out['img'], img[:, ::-1])
    assert out['flip'] and out['flip_direction'] == 'horizontal'

    keep = _build_transform(prob=0.0)
    out = keep(dict(img=img.copy(), gt_seg_map=seg.copy()))
    np.testing.assert_array_equal(out['gt_seg_map'], seg)
    np.testing.assert_array_equal(out['img'], img)
    assert not out['flip']

    custom = _build_transform(prob=1.0, swap_pairs=[(1, 2)])
    out = custom(dict(img=img.copy(), gt_seg_map=seg.copy()))
    np.testing.assert_array_equal(
        out['gt_seg_map'], np.where(
            seg[:, ::-1] == 1, 2, np.where(seg[:, ::-1] == 2, 1,
                                           seg[:, ::-1])))


@pytest.mark.slow
def test_synthetic_config_trains(synthetic_root, tmp_path):
    from mmengine.registry import RUNNERS
    data_root = osp.join(str(synthetic_root), 'LIP') + '/'
    assert osp.isdir(data_root + 'train_segmentations')
    cfg = tiny_train_cfg(SYNTHETIC, data_root, tmp_path, max_iters=2,
                         batch_size=2)
    assert cfg.default_scope == 'mmseg'
    assert cfg.model.data_preprocessor.size == (256, 128)
    cfg.train_cfg.val_interval = 100
    cfg.val_dataloader.dataset.data_root = data_root
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    cfg.log_processor.by_epoch = False
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')

    runner = RUNNERS.build(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    assert osp.isfile(osp.join(str(tmp_path), 'iter_2.pth'))
    metrics = runner.test()
    assert 0 <= metrics['mIoU'] <= 100

    # multi-scale + flip test of that checkpoint through tools/test.py
    import json
    import subprocess
    import sys

    from conftest import ROOT
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'test.py'),
         osp.join(ROOT, 'configs', SYNTHETIC),
         osp.join(str(tmp_path), 'iter_2.pth'), '--tta',
         '--work-dir', str(tmp_path / 'tta'), '--out',
         str(tmp_path / 'tta.json'), '--cfg-options',
         f'test_dataloader.dataset.data_root={data_root}',
         'log_level=WARNING'],
        capture_output=True, text=True, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    tta = json.load(open(tmp_path / 'tta.json'))
    assert 0 <= tta['mIoU'] <= 100


def _views(logits_per_view):
    """Segmentor outputs of one image: (flipped?, (C, H, W) logits) per
    view, the flipped ones already flipped back in space."""
    from mmengine.structures import PixelData

    from mmseg.structures import SegDataSample
    views = []
    for flip, logits in logits_per_view:
        sample = SegDataSample(metainfo=dict(
            flip=flip, flip_direction='horizontal', img_path='x.jpg'))
        sample.seg_logits = PixelData(data=logits)
        views.append(sample)
    return [views]


def test_flip_test_swaps_left_right_channels():
    """A left arm (14) in the image is a right arm (15) in its mirror: the
    flipped view's 14/15 channels are swapped before averaging, the other
    classes are not; mmseg's own TTA model picks the wrong side."""
    from mmseg.models import SegTTAModel
    from projects.saip_dpal.parsing import FlipSwapSegTTAModel
    module = torch.nn.Module()  # what merging reads of the segmentor
    module.out_channels = 20
    module.test_step = None
    plain, ours = SegTTAModel(module=module), FlipSwapSegTTAModel(
        module=module)
    logits = torch.zeros(20, 1, 3)
    logits[14, 0, 0], logits[3, 0, 1], logits[16, 0, 2] = 2., 2., 1.
    flipped = torch.zeros(20, 1, 3)  # the mirror sees the other side
    flipped[15, 0, 0], flipped[3, 0, 1], flipped[17, 0, 2] = 4., 2., 2.
    views = [(False, logits), (True, flipped)]
    pred = ours.merge_preds(_views(views))[0].pred_sem_seg.data
    assert pred.flatten().tolist() == [14, 3, 16]
    pred = plain.merge_preds(_views(views))[0].pred_sem_seg.data
    assert pred.flatten().tolist() == [15, 3, 17]
    # merged probabilities: the mean of the two views' softmaxes
    swapped = flipped[[*range(14), 15, 14, 17, 16, 19, 18]]
    views = [(False, logits), (True, flipped.clone())]
    merged = (logits.softmax(0) + swapped.softmax(0)) / 2
    assert ours.merge_preds(_views(views))[0].pred_sem_seg.data.flatten(
    ).equal(merged.argmax(0).flatten())
    with pytest.raises(ValueError, match='outside the 10 classes'):
        ours.merge_preds(_views([(True, torch.zeros(10, 1, 1))]))


def test_the_pretraining_plugin_does_not_load_mmseg():
    """Importing ``projects.saip_dpal`` (pretraining, every config's
    ``custom_imports``) leaves mmseg unloaded; the parsing configs import
    ``projects.saip_dpal.parsing`` too."""
    import subprocess
    import sys

    from conftest import CONFIG_DIR, ROOT
    code = ('import sys, projects.saip_dpal; '
            'print(sorted(m for m in sys.modules if m.startswith("mmseg")))')
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == '[]'
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(
        CONFIG_DIR, 'parsing/uper_dpal-vit-tiny_8xb4-150e_lip-576x384.py'))
    assert 'projects.saip_dpal.parsing' in cfg.custom_imports.imports
