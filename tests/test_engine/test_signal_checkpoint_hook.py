"""SIGTERM to a training process (and its data worker): it saves the
iteration it is at, says so in one line, exits 143, and resuming from that
file gives the uninterrupted run's loss at every iteration."""
import os
import re
import signal
import subprocess
import sys

import torch
from conftest import ROOT, run_tool
from pretrain_helpers import SAIP_DEMO, tiny_cfg


def _config(synthetic_root, tmp_path):
    cfg = tiny_cfg(SAIP_DEMO, synthetic_root)
    cfg.train_dataloader.dataset.indices = 8  # 4 iterations per epoch
    cfg.train_dataloader.update(num_workers=1, persistent_workers=True)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_level = 'INFO'  # the iterations' lines
    path = tmp_path / 'config.py'
    cfg.dump(str(path))
    return path


def _losses(work_dir):
    last = (work_dir / 'last_checkpoint').read_text()
    ckpt = torch.load(last, weights_only=True)
    return ckpt['message_hub']['log_scalars']['train/loss']['log_history']


def test_sigterm_saves_the_iteration_and_the_resume_is_exact(
        synthetic_root, tmp_path, capsys):
    config = _config(synthetic_root, tmp_path)
    code, err = run_tool('tools/train.py',
                         [config, '--work-dir', tmp_path / 'whole'], capsys)
    assert code == 0, err[-20:]
    want = _losses(tmp_path / 'whole')
    assert want.shape == (8, )

    work_dir = tmp_path / 'stopped'
    proc = subprocess.Popen(
        [sys.executable, 'tools/train.py', str(config), '--work-dir',
         str(work_dir)], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env=dict(os.environ, PYTHONUNBUFFERED='1'))
    lines = []
    for line in proc.stdout:  # the log of iteration 2 of epoch 1, then stop
        lines.append(line)
        if re.search(r'Epoch\(train\) +\[1\]\[2/4\]', line):
            os.killpg(proc.pid, signal.SIGTERM)  # main process and worker
            break
    out, _ = proc.communicate(timeout=120)
    lines += out.splitlines()
    assert proc.returncode == 143, lines[-30:]
    stop = [line for line in lines if 'stopped by SIGTERM' in line]
    assert len(stop) == 1, lines[-10:]
    step = int(stop[0].split('after iteration ')[1].split(':')[0])
    saved = work_dir / f'iter_{step}.pth'
    assert stop[0].rstrip().endswith(
        f'stopped by SIGTERM after iteration {step}: saved {saved}; '
        'continue with --resume')
    assert 2 <= step < 8
    assert not any('Traceback' in line or 'DataLoader worker' in line
                   for line in lines), lines[-30:]
    assert (work_dir / 'last_checkpoint').read_text() == str(saved)
    assert not list(work_dir.glob('.*.tmp'))
    ckpt = torch.load(saved, weights_only=True)
    assert ckpt['meta']['iter'] == step

    code, err = run_tool('tools/train.py',
                         [config, '--work-dir', work_dir, '--resume'], capsys)
    assert code == 0, err[-20:]
    assert torch.equal(_losses(work_dir), want)  # bit-identical, all 8
    # the handler is given back: this process's SIGTERM is the default
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
