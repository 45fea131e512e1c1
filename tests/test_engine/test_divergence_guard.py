"""A non-finite loss stops the run at that iteration with one line, weights
that became non-finite are never saved, and the last finite checkpoint
survives rotation; optionally such steps are skipped."""
import math
import os.path as osp
import subprocess
import sys

import pytest
import torch
from conftest import ROOT
from toy_runner import toy_runner

from projects.saip_dpal.engine.hooks import DivergenceGuardHook
from projects.saip_dpal.utils import TrainingDivergedError


def _last_checkpoint(tmp_path):
    with open(tmp_path / 'last_checkpoint') as f:
        return f.read().strip()


def test_nan_loss_stops_at_that_iteration_and_keeps_the_last(tmp_path):
    runner = toy_runner(tmp_path, [1, 1, 1, math.nan, 1, 1])
    with pytest.raises(TrainingDivergedError) as exc:
        runner.train()
    msg = str(exc.value)
    assert '\n' not in msg
    assert msg.startswith('training diverged at iteration 4: non-finite '
                          'loss=nan, loss_a=nan;')
    assert 'loss_b' not in msg
    # rotation kept one file: the last finite one, and it is named
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_3.pth']
    assert _last_checkpoint(tmp_path).endswith('iter_3.pth')
    state = torch.load(tmp_path / 'iter_3.pth', weights_only=True)
    assert torch.isfinite(state['state_dict']['w']).all()


def test_weights_that_overflow_are_never_saved(tmp_path):
    """A finite loss whose step overflows the weights: the save is refused
    before anything is written (x = 0 leaves w = 1; x = 1e38 gives a
    finite loss 3e38 and a step of -1e39)."""
    runner = toy_runner(tmp_path, [0, 1e38, 1], lr=10)
    with pytest.raises(TrainingDivergedError) as exc:
        runner.train()
    assert str(exc.value) == (
        'training diverged by iteration 2: Toy weight w is not finite; no '
        'checkpoint written, the last one is kept')
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_1.pth']
    assert _last_checkpoint(tmp_path).endswith('iter_1.pth')
    # control: mmengine's CheckpointHook deletes iter_1 before the refused
    # save, and nothing is left
    plain = tmp_path / 'plain'
    with pytest.raises(TrainingDivergedError):
        toy_runner(plain, [0, 1e38, 1], lr=10,
                   checkpoint='CheckpointHook').train()
    assert not list(plain.glob('*.pth'))


def test_skipped_steps_leave_the_weights_and_stop_past_the_budget(tmp_path):
    values = [1, math.nan, 1, 1]
    runner = toy_runner(tmp_path / 'skip', values, max_skips=1)
    runner.train()  # one non-finite step: skipped
    skipped = runner.model.w.detach().clone()
    clean = toy_runner(tmp_path / 'clean', [1, 1, 1])
    clean.train()  # the same updates without the bad batch
    torch.testing.assert_close(skipped, clean.model.w.detach())
    with pytest.raises(TrainingDivergedError, match='iteration 3'):
        toy_runner(tmp_path / 'stop', [1, math.nan, math.nan, 1],
                   max_skips=1).train()


def test_hook_arguments():
    with pytest.raises(ValueError):
        DivergenceGuardHook(max_skips=-1)


def test_train_tool_prints_one_line(synthetic_root, tmp_path):
    """A zero std makes every input infinite: the first loss is NaN."""
    from conftest import tiny_train_cfg
    cfg = tiny_train_cfg('mae_vit-tiny-p16_1xb16-4e_synthetic-lup.py',
                         synthetic_root, tmp_path / 'w', max_iters=3)
    cfg.model.data_preprocessor.std = [0., 0., 0.]
    cfg.dump(str(tmp_path / 'config.py'))
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/train.py'),
         str(tmp_path / 'config.py')], cwd=tmp_path, capture_output=True,
        text=True, timeout=600)
    assert out.returncode == 1, out.stderr[-2000:]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith('error: training diverged at iteration 1: '
                           'non-finite loss=nan'), last
    assert 'Traceback' not in out.stderr
    assert not list((tmp_path / 'w').glob('*.pth'))


def test_disabled_guard_lets_the_run_finish(tmp_path):
    runner = toy_runner(tmp_path, [1, math.nan, 1])
    for hook in runner._hooks:
        if isinstance(hook, DivergenceGuardHook):
            hook.enabled = False
    runner.train()
    assert runner.iter == 3
    assert not torch.isfinite(runner.model.w).all()
