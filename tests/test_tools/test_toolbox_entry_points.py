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


def test_a_plain_pip_install_carries_the_configs_and_model_zoo(tmp_path):
    """``pip install .`` (a wheel, not editable): the package imports from
    the install, and its configs, tools and model index sit in
    ``projects/.mim`` where mim and mmpretrain's model APIs find them."""
    from conftest import ROOT
    wheels, target = tmp_path / 'wheels', tmp_path / 'site'
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check', '-q']
    build = subprocess.run(
        pip + ['wheel', ROOT, '--no-deps', '--no-build-isolation', '-w',
               str(wheels)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel, = wheels.glob('saip_dpal-*.whl')
    install = subprocess.run(
        pip + ['install', '--no-deps', '--target', str(target), str(wheel)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    mim = target / 'projects' / '.mim'
    for name in ('model-index.yml', 'configs/dpal_pathb_vit-tiny.py',
                 'configs/dpal/metafile.yml', 'tools/train.py'):
        assert (mim / name).is_file(), name
    assert not (mim / 'configs').is_symlink()
    script = '''
import mmpretrain, projects.saip_dpal as p
from mmengine.config import Config
from projects.saip_dpal.utils.model_zoo import zoo_root
print(p.__file__)
print(zoo_root())
print(len(mmpretrain.list_models('dpal*')))
print(type(mmpretrain.get_model('saip_vit-tiny')).__name__)
cfg = Config.fromfile(zoo_root() + '/configs/dpal_pathb_vit-tiny.py')
print(cfg.model.type)
'''
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, '-c', script], cwd=tmp_path,
                         env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    where, root, n_dpal, saip, dpal = out.stdout.split()[-5:]
    assert where == str(target / 'projects/saip_dpal/__init__.py')
    assert root == str(mim)
    assert int(n_dpal) == 8 and saip == 'SAIP' and dpal == 'DPAL'
