"""mmpose's and mmseg's own ``tools/train.py`` (the copies their packages
install under ``.mim/tools``) train our synthetic configs from another
directory, with no PYTHONPATH: ``make env`` installs this clone."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from conftest import CONFIG_DIR

CASES = {
    'mmpose': ('pose/td-hm_dpal-vit-tiny_1xb16-2e_synthetic-coco-256x192.py',
               'coco'),
    'mmseg': ('parsing/uper_dpal-vit-tiny_1xb8-2e_synthetic-lip-256x128.py',
              'LIP'),
}


@pytest.mark.parametrize('toolbox', list(CASES))
def test_toolbox_train_tool_runs_our_config(toolbox, synthetic_root,
                                            tmp_path):
    import importlib
    package = importlib.import_module(toolbox)
    tool = osp.join(osp.dirname(package.__file__), '.mim', 'tools',
                    'train.py')
    config, data = CASES[toolbox]
    root = f'{synthetic_root}/{data}/'
    options = [f'{split}_dataloader.dataset.data_root={root}'
               for split in ('train', 'val', 'test')]
    if toolbox == 'mmpose':
        ann_file = root + 'annotations/person_keypoints_val2017.json'
        options += [f'val_evaluator.ann_file={ann_file}',
                    f'test_evaluator.ann_file={ann_file}']
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    out = subprocess.run(
        [sys.executable, tool, osp.join(CONFIG_DIR, config), '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=5', 'train_dataloader.batch_size=2',
         'train_dataloader.dataset.indices=2', 'log_level=WARNING',
         *options],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
