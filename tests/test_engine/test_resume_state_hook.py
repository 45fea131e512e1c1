"""A SAIP run stopped after an epoch, or inside one, and resumed draws what
the uninterrupted run draws (batches, masks, rescale factors,
augmentations): identical losses at every iteration, no replayed ones."""
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from pretrain_helpers import SAIP_DEMO, tiny_cfg


class _Stopped(Exception):
    pass


class _StopAfterFirstEpoch(Hook):
    """A kill right after the epoch-1 checkpoint is complete."""
    priority = 'LOWEST'  # after the checkpoint hook

    def after_train_epoch(self, runner):
        raise _Stopped


class _StopAfterIteration(Hook):
    """A kill right after the checkpoint of iteration ``n``."""
    priority = 'LOWEST'

    def __init__(self, n):
        self.n = n

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.n:
            raise _Stopped


def _cfg(synthetic_root, work_dir):
    cfg = tiny_cfg(SAIP_DEMO, synthetic_root, work_dir)
    cfg.train_dataloader.dataset.indices = 4  # 2 iterations per epoch
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    return cfg


def _losses(runner):
    return runner.message_hub.get_scalar('train/loss').data[0].tolist()


def _killed_and_resumed(synthetic_root, work_dir):
    runner = Runner.from_cfg(_cfg(synthetic_root, work_dir))
    runner.register_hook(_StopAfterFirstEpoch())
    with pytest.raises(_Stopped):
        runner.train()
    cfg = _cfg(synthetic_root, work_dir)
    cfg.resume = True
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    assert resumed.epoch == 2 and resumed.iter == 4
    return _losses(resumed)


@pytest.fixture(scope='module')
def uninterrupted(synthetic_root, tmp_path_factory):
    """Losses of 2 epochs x 2 iterations, never stopped."""
    work_dir = tmp_path_factory.mktemp('straight')
    runner = Runner.from_cfg(_cfg(synthetic_root, work_dir))
    runner.train()
    return _losses(runner)


def test_resumed_saip_run_matches_the_uninterrupted_one(
        synthetic_root, tmp_path, uninterrupted):
    want = uninterrupted
    assert len(want) == 4
    got = _killed_and_resumed(synthetic_root, tmp_path / 'resumed')
    assert got == want  # bit-identical, every iteration
    ckpt = torch.load(tmp_path / 'resumed' / 'epoch_1.pth',
                      weights_only=True)
    assert set(ckpt['random_state']) >= {'python', 'numpy', 'torch'}


def test_resume_inside_an_epoch_continues_it(synthetic_root, tmp_path,
                                             uninterrupted):
    """A checkpoint every 3 iterations of 2-iteration epochs; killed after
    iteration 3 (half way through epoch 2) and resumed: iteration 4 only,
    with the uninterrupted run's loss."""
    def cfg():
        c = _cfg(synthetic_root, tmp_path)
        c.default_hooks.checkpoint = dict(
            type='SafeCheckpointHook', interval=3, by_epoch=False)
        assert c.train_dataloader.sampler.type == 'ResumableSampler'
        return c

    runner = Runner.from_cfg(cfg())
    runner.register_hook(_StopAfterIteration(3))
    with pytest.raises(_Stopped):
        runner.train()
    resumed_cfg = cfg()
    resumed_cfg.resume = True
    resumed = Runner.from_cfg(resumed_cfg)
    resumed.train()
    assert resumed.iter == 4 and resumed.epoch == 2
    assert _losses(resumed) == uninterrupted
