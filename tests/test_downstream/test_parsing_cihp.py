"""CIHP human parsing (mmseg): the release layout read as image / part-map
pairs, one-line errors, and the CIHP UPerNet config (512x512 crops, left /
right swapping flip) training 2 iterations and validating mIoU."""
import math
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest

from downstream_helpers import (  # noqa: F401 (autouse fixture)
    load_scoped, restore_default_scope)

CONFIG = 'parsing/uper_dpal-vit-tiny_8xb4-150e_cihp-512x512.py'
SPLITS = dict(train=('Training', 'train_id.txt'),
              val=('Validation', 'val_id.txt'))


def write_cihp(root, lip):
    """A CIHP tree made of the synthetic LIP crops and masks, ids
    ``00000NN`` listed in reverse order. Returns the ids per split."""
    ids = {}
    for split, (folder, id_list) in SPLITS.items():
        names = sorted(os.listdir(osp.join(lip, f'{split}_images')))
        ids[split] = []
        for k, name in enumerate(names):
            stem = name[:-len('.jpg')]
            cid = f'{k + 1:07d}'
            for sub, src, ext in (
                    ('Images', f'{split}_images', '.jpg'),
                    ('Category_ids', f'{split}_segmentations', '.png')):
                os.makedirs(osp.join(root, folder, sub), exist_ok=True)
                shutil.copy(osp.join(lip, src, stem + ext),
                            osp.join(root, folder, sub, cid + ext))
            ids[split].append(cid)
        ids[split].reverse()
        with open(osp.join(root, folder, id_list), 'w') as f:
            f.writelines(f'{cid}\n' for cid in ids[split])
    return ids


@pytest.fixture(scope='module')
def cihp(synthetic_root, tmp_path_factory):
    root = str(tmp_path_factory.mktemp('cihp') / 'CIHP')
    return root, write_cihp(root, str(synthetic_root / 'LIP'))


def build_dataset(root, split, pipeline=()):
    from mmengine.registry import DefaultScope

    import projects.saip_dpal.parsing  # noqa: F401
    from mmseg.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmseg'):
        return DATASETS.build(
            dict(type='CIHPDataset', data_root=root, split=split,
                 pipeline=list(pipeline)))


def test_reads_image_and_part_map_pairs(cihp):
    from mmseg.datasets import LIPDataset
    root, ids = cihp
    load = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    for split, (folder, _) in SPLITS.items():
        ds = build_dataset(root, split, load)
        assert len(ds) == len(ids[split]) > 0
        for i, cid in enumerate(ids[split]):  # the id list's order
            info = ds.get_data_info(i)
            assert info['img_path'] == osp.join(root, folder, 'Images',
                                                cid + '.jpg')
            assert info['seg_map_path'] == osp.join(
                root, folder, 'Category_ids', cid + '.png')
        sample = ds[0]
        seg = cv2.imread(ds.get_data_info(0)['seg_map_path'],
                         cv2.IMREAD_UNCHANGED)
        assert sample['img'].shape[:2] == seg.shape
        np.testing.assert_array_equal(sample['gt_seg_map'], seg)
    lip = LIPDataset.METAINFO
    classes = ds.metainfo['classes']
    assert len(classes) == 20 and classes[10] == 'Torso-skin'
    assert classes[:10] + classes[11:] == lip['classes'][:10] + \
        lip['classes'][11:]
    assert [list(c) for c in ds.metainfo['palette']] == [
        list(c) for c in lip['palette']]
    assert ds.label_map is None  # ids are used as they are


def test_bad_trees_are_one_line_errors(cihp, tmp_path):
    from projects.saip_dpal.utils import InputDataError
    root, ids = cihp
    bad = tmp_path / 'bad'
    shutil.copytree(root, bad)

    def error(split, match):
        with pytest.raises(InputDataError, match=match) as err:
            build_dataset(str(bad), split)
        assert '\n' not in str(err.value)
        return str(err.value)

    with pytest.raises(ValueError, match='split'):
        build_dataset(str(bad), 'test')
    os.remove(bad / 'Validation' / 'val_id.txt')
    assert 'val_id.txt' in error('val', 'CIHP id list not found')
    build_dataset(str(bad), 'train')
    os.remove(bad / 'Training' / 'Category_ids' / f'{ids["train"][0]}.png')
    msg = error('train', 'CIHP file not found')
    assert ids['train'][0] + '.png' in msg and 'train_id.txt' in msg
    shutil.rmtree(bad / 'Training' / 'Images')
    assert 'Images' in error('train', 'CIHP folder not found')


def test_config_recipe():
    from projects.saip_dpal.parsing import LIP_SWAP_PAIRS
    cfg = load_scoped(CONFIG, 'mmseg')
    assert cfg.crop_size == (512, 512)
    assert cfg.model.data_preprocessor.size == (512, 512)
    assert cfg.model.decode_head.num_classes == 20
    assert cfg.model.auxiliary_head.num_classes == 20
    assert cfg.model.backbone.init_cfg.type == 'StrictPretrained'
    for loader, split in (('train_dataloader', 'train'),
                          ('val_dataloader', 'val'),
                          ('test_dataloader', 'val')):
        dataset = cfg[loader].dataset
        assert dataset.type == 'CIHPDataset' and dataset.split == split
        assert 'data_prefix' not in dataset
    train = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}
    assert train['RandomCrop']['crop_size'] == (512, 512)
    flip = train['RandomFlipSwapLabels']
    assert tuple(map(tuple, flip.get('swap_pairs', LIP_SWAP_PAIRS))) == \
        LIP_SWAP_PAIRS
    assert 'RandomFlip' not in train
    assert cfg.optim_wrapper.optimizer.lr == 7e-4
    assert cfg.train_cfg.max_epochs == 150


def tiny_cfg(root, work_dir, crop=(128, 128)):
    """The CIHP config shrunk like the synthetic LIP one: small crop,
    narrow heads, plain BN, 2 iterations of batch 2, then validation."""
    cfg = load_scoped(CONFIG, 'mmseg')
    bn = dict(type='BN', requires_grad=True)
    cfg.work_dir = str(work_dir)
    cfg.log_level = 'WARNING'
    cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
    cfg.model.data_preprocessor.size = crop
    cfg.model.backbone.update(drop_path_rate=0.0, init_cfg=None)
    cfg.model.neck.norm_cfg = bn
    cfg.model.decode_head.update(channels=64, norm_cfg=bn)
    cfg.model.auxiliary_head.update(channels=32, norm_cfg=bn)
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].update(num_workers=0, persistent_workers=False)
        cfg[loader].dataset.data_root = root
        for t in cfg[loader].dataset.pipeline:
            if t['type'] in ('RandomResize', 'Resize'):
                t['scale'] = crop[::-1]
            if t['type'] == 'RandomCrop':
                t['crop_size'] = crop
    cfg.train_dataloader.batch_size = 2
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=2)
    cfg.param_scheduler = []
    cfg.log_processor.by_epoch = False
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2,
                                        by_epoch=False)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    return cfg


def test_config_trains_and_validates_miou(cihp, tmp_path):
    from mmengine.registry import RUNNERS
    root, _ = cihp
    runner = RUNNERS.build(tiny_cfg(root, tmp_path))
    runner.train()
    hub = runner.message_hub
    loss = hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    assert 0 <= hub.get_scalar('val/mIoU').current() <= 100
    assert osp.isfile(osp.join(str(tmp_path), 'iter_2.pth'))
