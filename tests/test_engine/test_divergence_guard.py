"""A non-finite loss stops the run at that iteration with one line, weights
that became non-finite are never saved, and the last finite checkpoint
survives rotation; optionally such steps are skipped."""
import math
import os.path as osp
import socket
import subprocess
import sys
import textwrap

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
    """A finite loss whose step overflows the weights (x = 0 leaves w = 1;
    x = 1e38 gives a finite loss 3e38 and a step of -1e39): the run stops
    at that iteration on every rank, before the checkpoint hook."""
    for hook in ('SafeCheckpointHook', 'CheckpointHook'):
        work = tmp_path / hook
        with pytest.raises(TrainingDivergedError) as exc:
            toy_runner(work, [0, 1e38, 1], lr=10, checkpoint=hook).train()
        assert str(exc.value) == (
            'training diverged at iteration 2: the step made weight w of Toy '
            f'non-finite; not saved, the last checkpoint in {work} is kept '
            '(lower the lr, check the data)')
        assert sorted(p.name for p in work.glob('*.pth')) == ['iter_1.pth']
        assert _last_checkpoint(work).endswith('iter_1.pth')


def test_checkpoint_of_non_finite_weights_is_refused(tmp_path):
    """The backstop on the main process: weights that are not finite when
    a checkpoint is saved (e.g. changed after the iteration's check)."""
    from types import SimpleNamespace
    runner = toy_runner(tmp_path, [1])
    ckpt = dict(state_dict=dict(w=torch.tensor([1.0, math.inf, 0.0])),
                meta=dict(iter=7))
    with pytest.raises(TrainingDivergedError, match='training diverged by '
                       'iteration 7: Toy weight w is not finite; no '
                       'checkpoint written'):
        DivergenceGuardHook().before_save_checkpoint(
            SimpleNamespace(model=runner.model, iter=7), ckpt)
    ckpt['state_dict']['w'] = torch.ones(3)
    DivergenceGuardHook().before_save_checkpoint(runner, ckpt)  # finite


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
    cfg = tiny_train_cfg('mae/mae_vit-tiny-p16_1xb16-4e_synthetic-lup.py',
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


@pytest.mark.slow
def test_a_nan_on_one_rank_stops_both(tmp_path):
    """Two gloo processes; only rank 1's second sample is NaN. Both ranks
    stop at iteration 2 (rank 0 would otherwise go on to the next gradient
    all-reduce and wait there)."""
    script = tmp_path / 'two_ranks.py'
    script.write_text(textwrap.dedent(f'''
        import os, sys
        sys.path[:0] = [{osp.join(ROOT, 'tests')!r}, {ROOT!r}]
        import torch.distributed as dist
        import projects.saip_dpal  # noqa
        from projects.saip_dpal.utils import (TrainingDivergedError,
                                              close_distributed)
        from toy_runner import toy_runner
        dist.init_process_group('gloo')
        try:
            toy_runner({str(tmp_path)!r}, [1, 1, 1, float('nan'), 1, 1],
                       distributed=True).train()
        except TrainingDivergedError as err:
            with open(f'{tmp_path}/rank{{dist.get_rank()}}.txt', 'w') as f:
                f.write(str(err))
        finally:
            close_distributed()
    '''))
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    out = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
         '2', '--master_port', str(port), str(script)],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    said = [(tmp_path / f'rank{r}.txt') for r in (0, 1)]
    assert all(p.is_file() for p in said), out.stderr[-2000:]
    rank0, rank1 = (p.read_text() for p in said)
    assert rank0.startswith('training diverged at iteration 2: non-finite '
                            'values on another rank;')
    assert rank1.startswith('training diverged at iteration 2: non-finite '
                            'loss=nan, loss_a=nan;')


def test_large_finite_weights_are_finite():
    """The check is exact: 1e20 squared overflows float32, 1e20 does not."""
    from projects.saip_dpal.engine.hooks.divergence_guard_hook import \
        _all_finite
    assert bool(_all_finite([torch.full((4, ), 1e20), torch.ones(2)]))
    assert not bool(_all_finite([torch.tensor([1.0, math.nan])]))
    assert not bool(_all_finite([torch.tensor([-math.inf])]))


def test_flags_read_one_step_late_still_stop_before_a_save(tmp_path):
    """On CUDA the guard reads its flags one iteration late (no host-device
    sync): forced here on the CPU. The NaN of iteration 4 stops the run
    with the same line, before iteration 4's checkpoint is written; a NaN
    in the last iteration is caught at the end of training."""
    from projects.saip_dpal.utils.async_copies import LaggedHostRead

    def lagged(runner):
        guard = next(h for h in runner.hooks
                     if isinstance(h, DivergenceGuardHook))
        guard._reads = LaggedHostRead(lag=True)
        return runner

    runner = lagged(toy_runner(tmp_path / 'mid', [1, 1, 1, math.nan, 1, 1]))
    with pytest.raises(TrainingDivergedError, match=r'^training diverged at '
                       'iteration 4: non-finite loss=nan, loss_a=nan;'):
        runner.train()
    assert sorted(p.name for p in (tmp_path / 'mid').glob('*.pth')) == [
        'iter_3.pth']

    from mmengine.hooks import CheckpointHook
    runner = lagged(toy_runner(tmp_path / 'last', [1, 1, math.nan]))
    runner._hooks = [h for h in runner._hooks
                     if not isinstance(h, CheckpointHook)]  # no save at all
    with pytest.raises(TrainingDivergedError, match='iteration 3'):
        runner.train()
