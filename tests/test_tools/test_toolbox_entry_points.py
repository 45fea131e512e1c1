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


def _data_options(toolbox, synthetic_root):
    """--cfg-options pointing a synthetic config at the generated data."""
    root = f'{synthetic_root}/{CASES[toolbox][1]}/'
    options = [f'{split}_dataloader.dataset.data_root={root}'
               for split in ('train', 'val', 'test')]
    if toolbox == 'mmpose':
        ann_file = root + 'annotations/person_keypoints_val2017.json'
        options += [f'val_evaluator.ann_file={ann_file}',
                    f'test_evaluator.ann_file={ann_file}']
    return options


@pytest.mark.parametrize('toolbox', list(CASES))
@pytest.mark.slow
def test_toolbox_train_tool_runs_our_config(toolbox, synthetic_root,
                                            tmp_path):
    import importlib
    package = importlib.import_module(toolbox)
    tool = osp.join(osp.dirname(package.__file__), '.mim', 'tools',
                    'train.py')
    config, _ = CASES[toolbox]
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    out = subprocess.run(
        [sys.executable, tool, osp.join(CONFIG_DIR, config), '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=5', 'train_dataloader.batch_size=2',
         'train_dataloader.dataset.indices=2', 'log_level=WARNING',
         *_data_options(toolbox, synthetic_root)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    checkpoint = tmp_path / 'work' / 'epoch_1.pth'
    assert checkpoint.is_file()
    # mmseg's tool builds the config's runner_type (GuardedRunner: the
    # message hub's scalars are stored as tensors); mmpose's calls
    # Runner.from_cfg, a stock Runner, whose HistoryBuffer pickles our
    # reader still reads weights-only
    import torch
    from projects.saip_dpal.utils.untrusted_files import read_checkpoint
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(
        str(checkpoint))
    stored_buffers = any('HistoryBuffer' in g for g in unsafe)
    assert stored_buffers == (toolbox == 'mmpose'), unsafe
    assert read_checkpoint(str(checkpoint))['meta']['epoch'] == 1


@pytest.mark.slow
def test_toolbox_tool_names_the_option_of_a_missing_backbone_file(
        synthetic_root, tmp_path):
    """Through mmpose's own tools/train.py the traceback is mmpose's, and
    its last line says which option sets the file."""
    import mmpose
    tool = osp.join(osp.dirname(mmpose.__file__), '.mim', 'tools',
                    'train.py')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    out = subprocess.run(
        [sys.executable, tool, osp.join(CONFIG_DIR, CASES['mmpose'][0]),
         '--work-dir', str(tmp_path / 'work'), '--cfg-options',
         'model.backbone.init_cfg.checkpoint=missing/backbone.pth',
         'log_level=WARNING', *_data_options('mmpose', synthetic_root)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1].endswith(
        'init_cfg checkpoint missing/backbone.pth not found: point the '
        'VisionTransformer at a backbone file (tools/model_converters/'
        'extract_backbone.py), e.g. --cfg-options '
        'model.backbone.init_cfg.checkpoint=FILE'), out.stderr[-2000:]


@pytest.mark.slow
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
