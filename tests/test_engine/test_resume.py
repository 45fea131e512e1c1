"""Resume under torch >= 2.6 weights-only loading: GuardedRunner writes
checkpoints that any weights-only read takes (no allow-list), and reads
them back."""
import os.path as osp
import pickle

import pytest
import torch
from conftest import CodeRunningPickle, tiny_train_cfg
from mmengine.registry import RUNNERS

MAE = 'mae/mae_vit-tiny-p16_1xb16-4e_synthetic-lup.py'


def _adamw_steps(ckpt):
    return {int(s['step']) for s in ckpt['optimizer']['state'].values()}


def test_resume_continues_optimizer_and_iteration(synthetic_root, tmp_path):
    cfg = tiny_train_cfg(MAE, synthetic_root, tmp_path, max_iters=2)
    RUNNERS.build(cfg).train()
    first = torch.load(osp.join(tmp_path, 'iter_2.pth'))  # weights-only
    assert first['meta']['iter'] == 2 and _adamw_steps(first) == {2}

    cfg = tiny_train_cfg(MAE, synthetic_root, tmp_path, max_iters=4)
    cfg.resume = True  # picks iter_2.pth from work_dir
    runner = RUNNERS.build(cfg)
    runner.train()
    assert runner.iter == 4
    last = torch.load(osp.join(tmp_path, 'iter_4.pth'))
    assert last['meta']['iter'] == 4
    # a fresh optimizer would have made 2 steps; the resumed one made 4
    assert _adamw_steps(last) == {4}
    sched = last['param_schedulers'][0]
    assert sched['last_step'] == 4
    # the message hub's history survived the resume (2 + 2 losses)
    hub = last['message_hub']['log_scalars']['train/loss']
    assert hub['log_history'].shape == (4, )
    assert torch.equal(hub['log_history'][:2],
                       first['message_hub']['log_scalars']['train/loss'][
                           'log_history'])
    assert not torch.equal(first['state_dict']['backbone.cls_token'],
                           last['state_dict']['backbone.cls_token'])


def test_checkpoints_need_no_allow_list(synthetic_root, tmp_path):
    """A GuardedRunner checkpoint reads weights-only in a process that
    allow-lists nothing (stock torch, no plugin imported)."""
    import subprocess
    import sys
    cfg = tiny_train_cfg(MAE, synthetic_root, tmp_path, max_iters=1)
    RUNNERS.build(cfg).train()
    path = str(tmp_path / 'iter_1.pth')
    code = ('import sys, torch; '
            'c = torch.load(sys.argv[1], weights_only=True); '
            'print(sorted(c["message_hub"]["log_scalars"])[0])')
    out = subprocess.run([sys.executable, '-c', code, path],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == 'train/base_lr'
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []


def test_resuming_another_models_checkpoint_is_one_line(
        synthetic_root, tmp_path, capsys):
    """``--resume`` of an MAE checkpoint with a SAIP config: one line with
    the file, counts and an example of each difference (not missing-key
    warnings and then the optimizer's 'different number of parameter
    groups')."""
    from conftest import run_tool
    from pretrain_helpers import SAIP_DEMO, tiny_cfg
    cfg = tiny_train_cfg(MAE, synthetic_root, tmp_path / 'mae', max_iters=1)
    RUNNERS.build(cfg).train()
    saip = tiny_cfg(SAIP_DEMO, synthetic_root, tmp_path / 'saip')
    saip.dump(str(tmp_path / 'saip.py'))
    code, err = run_tool('tools/train.py', [
        tmp_path / 'saip.py', '--resume', tmp_path / 'mae' / 'iter_1.pth'
    ], capsys)
    assert code == 1, err[-10:]
    assert err[-1].startswith(
        'error: iter_1.pth: cannot resume from it, it was saved by another '
        'model: '), err[-3:]
    assert err[-1].endswith(
        'resume with the config it was trained with, or start from its '
        'weights with load_from')
    assert "of the model's are not in it (e.g. " in err[-1]
    assert not list((tmp_path / 'saip').glob('*.pth'))
