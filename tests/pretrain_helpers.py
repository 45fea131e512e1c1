"""Shrink DPAL / SAIP configs to tiny CPU runs (shared by their tests)."""
import copy
import os.path as osp

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(ROOT, 'configs')

DPAL_ALIASES = [
    'dpal_pathb_vit-tiny.py', 'dpal_pathb_vit-small.py',
    'dpal_pathb_swin-tiny.py', 'dpal_pathb_swin-small.py',
    'dpal_pathl_vit-tiny.py', 'dpal_pathl_vit-base.py',
    'dpal_soliderb_swin-tiny.py', 'dpal_soliderb_swin-small.py'
]
DPAL_DEMO = 'dpal/dpal_pathb_vit-tiny-p16_1xb16-2e_synthetic-lup.py'
SAIP_CONFIGS = ['saip_vit-tiny.py', 'saip_vit-small.py']
SAIP_DEMO = 'saip/saip_vit-tiny-p16_1xb8-2e_synthetic-lup.py'
TINY_SIZES = dict(global_pipeline=(64, 32), second_global_pipeline=(64, 32),
                  local_pipeline=(32, 32), canvas_pipeline=(64, 64))


def shrink_views(views, sizes=TINY_SIZES):
    """Set the crop size of each view pipeline (and the paste size)."""
    views = copy.deepcopy(views)
    for key, size in sizes.items():
        for t in views.get(key) or []:
            if t['type'].endswith('RandomResizedCrop'):
                t['scale'] = size
    views['paste_size'] = sizes['local_pipeline']
    return views


def tiny_cfg(config, data_root, work_dir=None, batch_size=2, sizes=None):
    """A shipped DPAL / SAIP config on the synthetic data at tiny sizes,
    no workers, no accumulation, random teacher (fp32 on this CPU: the
    configs' AmpOrFP32OptimWrapper)."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    if work_dir is not None:
        cfg.work_dir = str(work_dir)
    cfg.log_level = 'WARNING'
    ds = cfg.train_dataloader.dataset
    views = shrink_views(ds.pipeline[1], sizes or TINY_SIZES)
    views['canvas_root'] = osp.join(str(data_root), 'canvas')
    ds.pipeline = [ds.pipeline[0], views, ds.pipeline[2]]
    ds.data_root = str(data_root)
    ds.data_prefix = 'LUPerson'
    cfg.train_dataloader.update(
        batch_size=batch_size, num_workers=0, persistent_workers=False,
        pin_memory=False)
    if 'teacher_checkpoint' in cfg.model:
        cfg.model.teacher_checkpoint = None
    cfg.optim_wrapper.pop('accumulative_counts', None)
    cfg.auto_scale_lr = dict(enable=False)
    return cfg


def with_small_teacher(cfg):
    """A DPAL ``cfg`` whose teacher is a random ViT-Ti (the decoder maps to
    its 192 channels): what a test of the training machinery needs, at a
    tenth of the PATH-B teacher's time and checkpoint size."""
    cfg.model.teacher.arch = 'deit-tiny'
    cfg.model.neck.update(out_channels=192, num_heads=3, gate_num_heads=3)
    return cfg


def build_model(cfg, max_iters=10):
    """The config's model, initialised (EMA schedules read ``max_iters``
    from the message hub, which the Runner would set)."""
    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope

    from mmpretrain.registry import MODELS
    MessageHub.get_current_instance().update_info('max_iters', max_iters)
    init_default_scope('mmpretrain')
    import projects.saip_dpal  # noqa: F401
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def one_batch(cfg, indices=(0, 1), seed=0):
    """A collated batch of the config's training dataset, the same whatever
    ran before (numpy, python and torch generators seeded)."""
    import random

    import numpy as np
    import torch
    from mmengine.dataset import default_collate

    from mmpretrain.registry import DATASETS
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return default_collate([dataset[i] for i in indices])
