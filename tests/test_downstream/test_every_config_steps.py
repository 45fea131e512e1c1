"""Every shipped downstream config takes a training step: the full-size
recipes here (random backbone, batch 2, the synthetic twin of their data,
parsing crops shrunk to 128x128), the synthetic / CIHP / MSMT17 / Swin-T
ones in their own tests. A new config must be listed in one of the two."""
import glob
import math
import os.path as osp

import pytest
from conftest import CONFIG_DIR, run_tool
from downstream_helpers import restore_default_scope  # noqa: F401

from projects.saip_dpal.utils import InputDataError

#: config -> synthetic dataset folder, one Runner step each here
STEPPED_HERE = {
    'pose/td-hm_dpal-vit-tiny_8xb64-210e_coco-256x192.py': 'coco',
    'pose/td-hm_saip-vit-tiny_8xb64-210e_coco-256x192.py': 'coco',
    'pose/td-hm_dpal-vit-small_8xb64-210e_coco-256x192.py': 'coco',
    'pose/td-hm_saip-vit-small_8xb64-210e_coco-256x192.py': 'coco',
    'pose/td-hm_dpal-vit-base_8xb64-210e_coco-256x192.py': 'coco',
    'pose/td-hm_dpal-swin-small_8xb64-210e_coco-256x192.py': 'coco',
    'parsing/uper_dpal-vit-tiny_8xb4-150e_lip-576x384.py': 'LIP',
    'parsing/uper_saip-vit-tiny_8xb4-150e_lip-576x384.py': 'LIP',
    'reid/reid_dpal-vit-tiny_1xb64-120e_market1501-256x128.py': 'Market-1501',
    'attribute/par_dpal-vit-tiny_1xb64-30e_pa100k-256x128.py': 'PA-100K',
}
#: config -> the test that trains it
STEPPED_ELSEWHERE = {
    'pose/td-hm_dpal-vit-tiny_1xb16-2e_synthetic-coco-256x192.py':
    'test_pose_configs.py::test_synthetic_config_trains_and_evaluates',
    'pose/td-hm_dpal-swin-tiny_8xb64-210e_coco-256x192.py':
    'test_pose_configs.py::test_swin_config_trains',
    'parsing/uper_dpal-vit-tiny_1xb8-2e_synthetic-lip-256x128.py':
    'test_parsing_configs.py::test_synthetic_config_trains',
    'parsing/uper_dpal-vit-tiny_8xb4-150e_cihp-512x512.py':
    'test_parsing_cihp.py::test_config_trains_and_validates_miou',
    'reid/reid_dpal-vit-tiny_1xb16-2e_synthetic-market1501-256x128.py':
    'test_reid.py::test_synthetic_reid_trains_and_reports_map',
    'reid/reid_dpal-vit-tiny_1xb64-120e_msmt17-256x128.py':
    'test_datasets/test_msmt17.py (two iterations + mAP)',
    'attribute/par_dpal-vit-tiny_1xb16-2e_synthetic-pa100k-256x128.py':
    'test_attribute.py::test_synthetic_attributes_train_and_report_ma',
}
PARSING_CROP = (128, 128)
#: one config per task: its checkpoint goes through tools/test.py
THROUGH_TEST_TOOL = {
    'pose/td-hm_dpal-vit-tiny_8xb64-210e_coco-256x192.py',
    'parsing/uper_dpal-vit-tiny_8xb4-150e_lip-576x384.py',
    'reid/reid_dpal-vit-tiny_1xb64-120e_market1501-256x128.py',
    'attribute/par_dpal-vit-tiny_1xb64-30e_pa100k-256x128.py',
}


def test_every_downstream_config_is_stepped_somewhere():
    shipped = {
        osp.relpath(p, CONFIG_DIR)
        for task in ('pose', 'parsing', 'reid', 'attribute')
        for p in glob.glob(osp.join(CONFIG_DIR, task, '*.py'))
    }
    assert shipped == set(STEPPED_HERE) | set(STEPPED_ELSEWHERE)


def one_step_cfg(config, data_root, work_dir):
    """``config`` on ``data_root``: one iteration of batch 2 (8 for the
    identity-balanced ReID sampler) from a random backbone, no validation,
    the config's own checkpoint hook saving after it."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    cfg.work_dir = str(work_dir)
    cfg.log_level = 'WARNING'
    loader = cfg.train_dataloader
    loader.update(batch_size=8 if config.startswith('reid') else 2,
                  num_workers=0, persistent_workers=False)
    loader.dataset.data_root = str(data_root) + '/'
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.update(interval=1, by_epoch=False,
                                        save_best=None)
    cfg.model.backbone.init_cfg = None
    if cfg.default_scope == 'mmseg':  # 576x384 crops are slow on CPU
        cfg.model.data_preprocessor.size = PARSING_CROP
        for step in loader.dataset.pipeline:
            if step.type == 'RandomCrop':
                step.crop_size = PARSING_CROP
    return cfg


def _test_tool_options(config, data_root):
    """``--cfg-options`` pointing the test split at the synthetic data."""
    options = [f'test_dataloader.dataset.data_root={data_root}/']
    if config.startswith('pose'):  # 2 images are enough
        ann_file = f'{data_root}/annotations/person_keypoints_val2017.json'
        options += [f'test_evaluator.ann_file={ann_file}',
                    'test_dataloader.dataset.indices=2']
    if config.startswith('parsing'):
        options.append('test_dataloader.dataset.indices=1')
    if config.startswith('attribute'):
        options.append('model.head.num_classes=34')
    return options


@pytest.mark.parametrize('config', list(STEPPED_HERE))
@pytest.mark.slow
def test_full_config_takes_a_training_step(config, synthetic_root,
                                           tmp_path, capsys):
    from mmengine.registry import RUNNERS
    cfg = one_step_cfg(config, synthetic_root / STEPPED_HERE[config],
                       tmp_path)
    if config.startswith('attribute'):
        # PA-100K's 26 attributes vs the synthetic set's 34: one line
        with pytest.raises(InputDataError, match='has 34 attributes but '
                           'the head predicts 26'):
            RUNNERS.build(cfg).train()
        cfg.model.head.num_classes = 34
    runner = RUNNERS.build(cfg)
    before = {k: v.detach().clone()
              for k, v in runner.model.backbone.named_parameters()}
    runner.train()
    assert runner.iter == 1
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    # the optimizer stepped the backbone (its patch embedding moved)
    moved = [k for k, v in runner.model.backbone.named_parameters()
             if not v.detach().equal(before[k])]
    assert any(k.startswith('patch_embed.') for k in moved), moved[:5]
    # its checkpoint (mmpose's holds uint8 arrays in dataset_meta) resumes
    # under weights-only loading
    assert cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook'
    cfg.train_cfg.max_iters, cfg.resume = 2, True
    resumed = RUNNERS.build(cfg)
    resumed.train()
    assert resumed.iter == 2
    if config not in THROUGH_TEST_TOOL:
        return
    data_root = synthetic_root / STEPPED_HERE[config]
    code, err = run_tool('tools/test.py', [
        osp.join(CONFIG_DIR, config), tmp_path / 'iter_2.pth', '--work-dir',
        tmp_path / 'test', '--out', tmp_path / 'metrics.json',
        '--cfg-options', *_test_tool_options(config, data_root)], capsys)
    assert code == 0, err[-20:]
    assert osp.getsize(tmp_path / 'metrics.json') > 2


def test_every_downstream_config_fixes_its_seed(synthetic_root, tmp_path):
    """A seed in every config, and two identical runs train alike."""
    from mmengine.config import Config
    from mmengine.registry import RUNNERS
    for config in [*STEPPED_HERE, *STEPPED_ELSEWHERE]:
        cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
        assert cfg.get('randomness', {}).get('seed') is not None, config
    config = 'pose/td-hm_dpal-vit-tiny_8xb64-210e_coco-256x192.py'
    losses = []
    for run in ('first', 'second'):
        runner = RUNNERS.build(one_step_cfg(
            config, synthetic_root / 'coco', tmp_path / run))
        runner.train()
        losses.append(runner.message_hub.get_scalar('train/loss').current())
    assert losses[0] == losses[1]
