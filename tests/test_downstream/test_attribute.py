"""Attributes: the synthetic PA-100K config trains and reports mA."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.runner import Runner

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SYNTHETIC = 'configs/attribute/par_dpal-vit-tiny_1xb16-2e_synthetic-pa100k' \
    '-256x128.py'


def test_synthetic_attributes_train_and_report_ma(synthetic_root, tmp_path):
    cfg = Config.fromfile(osp.join(ROOT, SYNTHETIC))
    cfg.work_dir = str(tmp_path)
    root = str(synthetic_root / 'PA-100K')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    cfg.train_dataloader.batch_size = 8
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=2)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2,
                                        by_epoch=False)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert torch.isfinite(torch.tensor(scalars['train/loss'].current()))
    mA = scalars['val/attribute/mA'].current()
    assert 0 <= mA <= 100
