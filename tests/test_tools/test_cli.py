"""The tools print help, name a missing config, refuse an unwritable
work_dir before training, and run distributed on CPU processes."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from conftest import ROOT

TOOLS = ['tools/train.py', 'tools/test.py', 'tools/run_demo.py',
         'tools/dataset_converters/generate_synthetic_humans.py',
         'tools/analysis_tools/hvp_benchmark.py',
         'tools/analysis_tools/hvp_study.py',
         'tools/analysis_tools/extract_features.py',
         'tools/deployment/pytorch2onnx.py',
         'tools/dataset_converters/sample_lup1m.py']
MAE = 'configs/mae/mae_vit-tiny-p16_1xb16-4e_synthetic-lup.py'
DPAL_DEMO = 'configs/dpal/dpal_pathb_vit-tiny-p16_1xb16-2e_synthetic-lup.py'
SAIP_DEMO = 'configs/saip/saip_vit-tiny-p16_1xb8-2e_synthetic-lup.py'


def run(args, cwd, **kwargs):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)


#: each tool run as ``__main__`` with the interpreter's own ``sys.path``:
#: one start for all (each start imports the whole stack, about 8 s on 2
#: cores; registries forbid importing our modules twice in one process)
_HELP_SCRIPT = r"""
import contextlib, io, json, runpy, sys
path, results = list(sys.path), {}
for tool in sys.argv[1:]:
    sys.path[:] = path
    sys.argv = [tool, '--help']
    out, code = io.StringIO(), None
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(tool, run_name='__main__')
    except SystemExit as exit_:
        code = exit_.code
    results[tool] = [code, out.getvalue()]
print(json.dumps(results))
"""


def test_help_from_another_directory(tmp_path):
    tools = [osp.join(ROOT, t) for t in TOOLS + [
        'tools/model_converters/path2mmpretrain.py',
        'tools/model_converters/solider2mmpretrain.py']]
    out = run([sys.executable, '-c', _HELP_SCRIPT, *tools], cwd=tmp_path,
              timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    import json
    results = json.loads(out.stdout.strip().splitlines()[-1])
    for tool in tools:
        code, text = results[tool]
        assert code == 0 and text.startswith('usage:'), (tool, code)


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py'])
def test_missing_config_is_one_clear_line(tool, tmp_path):
    args = [sys.executable, osp.join(ROOT, tool), 'configs/nope.py']
    if tool.endswith('test.py'):
        args.append('x.pth')
    out = run(args, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].endswith(
        'error: config file not found: configs/nope.py')
    assert 'Traceback' not in out.stderr


def test_old_flat_config_paths_still_load(capsys):
    """The pretraining configs moved into configs/{dpal,saip,mae}/; the
    paths users have (configs/NAME.py) keep loading, with a note."""
    import argparse

    from projects.saip_dpal.utils.runner_cli import load_config, moved_config
    old = osp.join(ROOT, 'configs',
                   'dpal_pathb_vit-tiny-p16_8xb256-amp-200e_lup1m.py')
    new = osp.join(ROOT, 'configs', 'dpal',
                   'dpal_pathb_vit-tiny-p16_8xb256-amp-200e_lup1m.py')
    assert not osp.exists(old) and moved_config(old) == new
    assert moved_config(osp.join(ROOT, 'configs', 'dpal_pathb_nope.py')) \
        is None
    assert moved_config(osp.join(ROOT, 'configs', 'pose', 'dpal_x.py')) \
        is None
    cfg = load_config(argparse.ArgumentParser(), old)
    assert cfg.filename == new
    assert capsys.readouterr().out.strip() == f'{old} is now {new}'
    # a renamed short name (solider -> soliderb, as its full name says)
    old = osp.join(ROOT, 'configs', 'dpal_solider_swin-tiny.py')
    new = osp.join(ROOT, 'configs', 'dpal_soliderb_swin-tiny.py')
    assert not osp.exists(old) and moved_config(old) == new


def test_unwritable_work_dir_fails_before_training(tmp_path):
    blocker = tmp_path / 'a_file'
    blocker.write_text('not a directory')
    work_dir = blocker / 'work'
    out = run([
        sys.executable, 'tools/train.py', MAE, '--work-dir',
        str(work_dir)
    ], cwd=ROOT, timeout=300)
    assert out.returncode == 2
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith('error: work_dir') and 'not writable' in last
    assert 'Traceback' not in out.stderr


@pytest.mark.slow
@pytest.mark.parametrize('config', [DPAL_DEMO, SAIP_DEMO])
def test_dist_train_two_cpu_processes(config, synthetic_root, tmp_path):
    """tools/dist_train.sh CONFIG 2 -> two gloo processes share the work:
    8 images, 2 per process and iteration, one epoch = 2 iterations."""
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=str(29500 + os.getpid() % 1000),
        PYTHONUNBUFFERED='1')
    work_dir = tmp_path / 'dist'
    options = [
        f'train_dataloader.dataset.data_root={synthetic_root}',
        'train_dataloader.dataset.indices=8', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
        f'train_dataloader.dataset.pipeline.1.canvas_root={synthetic_root}'
        '/canvas'
    ]
    if config == DPAL_DEMO:  # a ViT-Ti teacher: the launch is under test
        options += ['model.teacher.arch=deit-tiny',
                    'model.neck.out_channels=192', 'model.neck.num_heads=3',
                    'model.neck.gate_num_heads=3']
    out = subprocess.run([
        'bash', osp.join(ROOT, 'tools/dist_train.sh'),
        osp.join(ROOT, config), '2', '--work-dir',
        str(work_dir), '--cfg-options', *options
    ], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # one process would need 4 iterations for the 8 images
    ckpt = torch.load(work_dir / 'epoch_1.pth')
    assert ckpt['meta']['iter'] == 2 and ckpt['meta']['epoch'] == 1
    text = next(work_dir.glob('*/*.log')).read_text()
    assert 'Distributed launcher: pytorch' in text
    assert 'Distributed training: True' in text


def test_corrupt_image_stops_training_with_one_line(tmp_path):
    """A corrupt file met inside a DataLoader worker: one line, exit 1."""
    import cv2
    import numpy as np
    folder = tmp_path / 'LUPerson' / 'v0'
    folder.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(folder / f'{i}.jpg'),
                    np.full((64, 32, 3), 90 * i, np.uint8))
    (folder / '1.jpg').write_bytes(b'\x00garbage')
    out = run([
        sys.executable, 'tools/train.py', MAE, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'train_dataloader.dataset.data_root={tmp_path}',
        'train_dataloader.batch_size=3', 'train_dataloader.num_workers=1'
    ], cwd=ROOT, timeout=300)
    assert out.returncode == 1, out.stderr[-2000:]
    assert out.stderr.strip().splitlines()[-1] == (
        f'error: corrupt or unreadable image: {folder}/1.jpg')
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_resume_with_nothing_to_resume_is_an_error(synthetic_root, tmp_path,
                                                   capsys):
    from conftest import run_tool, tiny_train_cfg
    cfg = tiny_train_cfg(osp.relpath(MAE, 'configs'), synthetic_root,
                         tmp_path / 'w', max_iters=1)
    cfg.dump(str(tmp_path / 'config.py'))
    config = tmp_path / 'config.py'
    code, err = run_tool('tools/train.py', [config, '--resume'], capsys)
    assert code == 2 and err[-1] == (
        f"error: --resume: nothing to resume in {tmp_path / 'w'} (no "
        'last_checkpoint naming a file); train without --resume, or use '
        '"--resume if-any"')
    code, err = run_tool('tools/train.py', [config, '--resume', 'gone.pth'],
                         capsys)
    assert code == 2
    assert err[-1] == 'error: --resume: checkpoint not found: gone.pth'
    # asked for: start afresh
    code, err = run_tool('tools/train.py', [config, '--resume', 'if-any'],
                         capsys)
    assert code == 0, err[-20:]
    assert (tmp_path / 'w' / 'iter_1.pth').exists()


def test_resume_names_a_last_checkpoint_that_is_not_a_path(
        synthetic_root, tmp_path, capsys):
    """Binary garbage in ``last_checkpoint`` (a disk fault, another tool's
    file): one line naming it, for ``--resume`` and ``--resume if-any``."""
    from conftest import run_tool, tiny_train_cfg
    cfg = tiny_train_cfg(osp.relpath(MAE, 'configs'), synthetic_root,
                         tmp_path / 'w', max_iters=1)
    cfg.dump(str(tmp_path / 'config.py'))
    (tmp_path / 'w').mkdir()
    pointer = tmp_path / 'w' / 'last_checkpoint'
    pointer.write_bytes(b'\x80\x04\x95garbage\xff\xfe')
    for flag in ('--resume', '--resume=if-any'):
        code, err = run_tool('tools/train.py', [tmp_path / 'config.py', flag],
                             capsys)
        assert code == 2 and err == [
            f'error: --resume: {pointer} does not hold a checkpoint path: '
            'delete it to start afresh, or resume from a file with '
            '--resume FILE'], err
    # a config's resume=True meets the same check inside the Runner
    code, err = run_tool('tools/train.py', [tmp_path / 'config.py',
                                            '--cfg-options', 'resume=True'],
                         capsys)
    assert code == 1 and err[-1] == (
        f'error: {pointer} does not hold a checkpoint path: delete it to '
        'start afresh, or resume from a file with --resume FILE'), err[-5:]
    assert not list((tmp_path / 'w').glob('*.pth'))


def test_amp_without_a_gpu_is_one_line(tmp_path, capsys, monkeypatch):
    from conftest import run_tool
    monkeypatch.setattr('mmengine.device.get_device', lambda: 'cpu')
    code, err = run_tool('tools/train.py', [
        osp.join(ROOT, MAE), '--amp', '--work-dir', tmp_path / 'w'], capsys)
    assert code == 2 and err == [
        'error: --amp: mixed precision needs a GPU and none is visible '
        'here; train without --amp'], err
    assert not (tmp_path / 'w').exists()


def _merged(config, *argv):
    """``config`` after the tools' argument handling of ``argv``."""
    import argparse

    from projects.saip_dpal.utils import add_common_args, merge_common_args
    from projects.saip_dpal.utils.runner_cli import load_config
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_common_args(parser)
    args = parser.parse_args([config, *argv])
    return merge_common_args(load_config(parser, args.config), args)


def test_num_workers_zero_from_the_command_line_turns_persistence_off():
    cfg = _merged(osp.join(ROOT, DPAL_DEMO))
    assert cfg.train_dataloader.num_workers > 0
    assert cfg.train_dataloader.persistent_workers
    cfg = _merged(osp.join(ROOT, DPAL_DEMO), '--cfg-options',
                  'train_dataloader.num_workers=0')
    assert cfg.train_dataloader.num_workers == 0
    assert cfg.train_dataloader.persistent_workers is False
    # torch's DataLoader accepts it (it refuses persistence without workers)
    torch.utils.data.DataLoader(
        [0], num_workers=0,
        persistent_workers=cfg.train_dataloader.persistent_workers)
    # pinned memory only with an accelerator (torch warns without one)
    assert cfg.train_dataloader.pin_memory is torch.cuda.is_available()


def test_moving_a_data_root_moves_the_paths_built_from_it(tmp_path):
    """Configs join ``data_root + '...'`` when read; an override of the
    root takes the evaluator's ann_file (and DPAL's canvas) with it."""
    pose = osp.join(ROOT, 'configs/pose/'
                    'td-hm_dpal-vit-tiny_8xb64-210e_coco-256x192.py')
    new = f'{tmp_path}/coco/'
    cfg = _merged(pose, '--cfg-options', f'data_root={new}')
    for split in ('train', 'val', 'test'):
        assert cfg[f'{split}_dataloader'].dataset.data_root == new
    assert cfg.val_evaluator.ann_file == \
        f'{new}annotations/person_keypoints_val2017.json'
    # the dataset-relative ann_file stays relative
    assert cfg.val_dataloader.dataset.ann_file == \
        'annotations/person_keypoints_val2017.json'

    cfg = _merged(pose, '--cfg-options',
                  f'val_dataloader.dataset.data_root={new}')
    assert cfg.val_evaluator.ann_file.startswith(new)
    assert cfg.train_dataloader.dataset.data_root == 'data/coco/'

    dpal = osp.join(ROOT, 'configs/dpal_pathb_vit-tiny.py')
    cfg = _merged(dpal, '--cfg-options', f'data_root={new}')
    assert cfg.train_dataloader.dataset.data_root == new
    assert cfg.train_dataloader.dataset.pipeline[1].canvas_root == \
        f'{new}canvas/'


def test_pose_annotation_naming_a_missing_image_is_one_line(
        synthetic_root, tmp_path, capsys):
    """A COCO json that names an image the folder does not have: one line
    naming the file (from a DataLoader worker), exit 1."""
    import re
    import shutil

    from conftest import run_tool
    root = tmp_path / 'coco'
    shutil.copytree(synthetic_root / 'coco', root)
    for image in (root / 'train2017').glob('*.jpg'):
        image.unlink()
    code, err = run_tool('tools/train.py', [
        osp.join(ROOT, 'configs/pose/td-hm_dpal-vit-tiny_1xb16-2e_synthetic-'
                 'coco-256x192.py'), '--work-dir', tmp_path / 'w',
        '--cfg-options', f'data_root={root}/', 'train_dataloader.num_workers=1'
    ], capsys)
    assert code == 1, err[-20:]
    assert re.fullmatch(
        rf'error: missing image file: {root}/train2017/\d+\.jpg', err[-1]), \
        err[-5:]


def test_a_misspelt_option_key_suggests_the_key(tmp_path, capsys):
    """``model.bakbone.arch=small`` would reach the model as an unexpected
    keyword; the tools stop before building anything and name the key.
    New keys (ones no config has) and list indices pass."""
    from conftest import run_tool
    (tmp_path / 'x.pth').write_bytes(b'')  # never read: the key fails first
    for tool in ('tools/train.py', 'tools/test.py'):
        argv = [osp.join(ROOT, MAE)] + ([tmp_path / 'x.pth']
                                        if 'test' in tool else [])
        code, err = run_tool(tool, argv + [
            '--work-dir', tmp_path / 'w', '--cfg-options',
            'model.bakbone.arch=small'], capsys)
        assert code == 2 and err == [
            'error: --cfg-options model.bakbone.arch=small: the config has '
            'no model.bakbone; did you mean model.backbone?'], err
    assert not (tmp_path / 'w').exists()
    cfg = _merged(osp.join(ROOT, MAE), '--cfg-options',
                  'resume_at_epoch_start=True',
                  'train_dataloader.dataset.pipeline.0.skip_bad=True')
    assert cfg.resume_at_epoch_start is True
    assert cfg.train_dataloader.dataset.pipeline[0].skip_bad is True
