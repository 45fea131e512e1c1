"""A SAIP run stopped after an epoch and resumed draws what the uninterrupted
run draws (masks, rescale factors, augmentations): identical losses."""
import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from pretrain_helpers import SAIP_DEMO, tiny_cfg

from projects.saip_dpal.engine.hooks import RandomStateHook


class _Stopped(Exception):
    pass


class _StopAfterFirstEpoch(Hook):
    """A kill right after the epoch-1 checkpoint is complete."""
    priority = 'LOWEST'  # after the checkpoint hook

    def after_train_epoch(self, runner):
        raise _Stopped


def _cfg(synthetic_root, work_dir):
    cfg = tiny_cfg(SAIP_DEMO, synthetic_root, work_dir)
    cfg.train_dataloader.dataset.indices = 4  # 2 iterations per epoch
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    return cfg


def _runner(cfg, random_state):
    runner = Runner.from_cfg(cfg)
    if not random_state:  # the control: the same run without the hook
        runner._hooks = [h for h in runner._hooks
                         if not isinstance(h, RandomStateHook)]
    return runner


def _losses(runner):
    return runner.message_hub.get_scalar('train/loss').data[0].tolist()


def _killed_and_resumed(synthetic_root, work_dir, random_state=True):
    runner = _runner(_cfg(synthetic_root, work_dir), random_state)
    runner.register_hook(_StopAfterFirstEpoch())
    with pytest.raises(_Stopped):
        runner.train()
    cfg = _cfg(synthetic_root, work_dir)
    cfg.resume = True
    resumed = _runner(cfg, random_state)
    resumed.train()
    assert resumed.epoch == 2 and resumed.iter == 4
    return _losses(resumed)


def test_resumed_saip_run_matches_the_uninterrupted_one(synthetic_root,
                                                        tmp_path):
    straight = _runner(_cfg(synthetic_root, tmp_path / 'straight'), True)
    straight.train()
    want = _losses(straight)
    assert len(want) == 4
    got = _killed_and_resumed(synthetic_root, tmp_path / 'resumed')
    assert got == want  # bit-identical, every iteration
    ckpt = torch.load(tmp_path / 'resumed' / 'epoch_1.pth',
                      weights_only=True)
    assert set(ckpt['random_state']) >= {'python', 'numpy', 'torch'}
    # control: without the saved generators the second epoch differs
    control = _killed_and_resumed(synthetic_root, tmp_path / 'control',
                                  random_state=False)
    assert control[:2] == want[:2]
    assert not np.allclose(control[2:], want[2:], rtol=0, atol=1e-7)
