"""A rank that stops answering (SIGSTOP: a hung machine) in a two-process
gloo run: the survivor's collective times out and it stops with one line
naming the rank, no traceback."""
import os
import re
import signal
import subprocess
import sys

import pytest
from conftest import ROOT
from pretrain_helpers import SAIP_DEMO, tiny_cfg


@pytest.mark.slow
def test_the_survivor_names_the_frozen_rank(synthetic_root, tmp_path):
    cfg = tiny_cfg(SAIP_DEMO, synthetic_root, tmp_path / 'w')
    cfg.train_dataloader.dataset.indices = 16  # 4 iterations per epoch
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_level = 'INFO'
    cfg.env_cfg.dist_cfg.timeout = 10
    cfg.dump(str(tmp_path / 'config.py'))
    port = str(29600 + os.getpid() % 300)
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank),
                   WORLD_SIZE='2', MASTER_ADDR='127.0.0.1', MASTER_PORT=port,
                   PYTHONUNBUFFERED='1')
        procs.append(subprocess.Popen(
            [sys.executable, 'tools/train.py', str(tmp_path / 'config.py'),
             '--launcher', 'pytorch'], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    survivor, frozen = procs
    try:
        lines = []
        for line in survivor.stdout:
            lines.append(line.rstrip('\n'))
            if re.search(r'Epoch\(train\) +\[1\]\[2/4\]', line):
                os.kill(frozen.pid, signal.SIGSTOP)
                break
        out, _ = survivor.communicate(timeout=120)
        lines += out.splitlines()
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert survivor.returncode == 1, lines[-30:]
    assert lines[-1] == (
        'error: rank 1 of 2 stopped answering: a collective waited 10 s for '
        'it; rank 0 still running: look at rank 1 (its log, its machine)')
    assert not any('Traceback' in line for line in lines), lines[-30:]
