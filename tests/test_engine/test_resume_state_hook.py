"""A DPAL or SAIP run stopped after an epoch, or inside one, and resumed
draws what the uninterrupted run draws (batches, masks, rescale factors,
augmentations, also from persistent data workers): identical losses at
every iteration, no replayed ones."""
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS
from pretrain_helpers import (DPAL_DEMO, SAIP_DEMO, tiny_cfg,
                              with_small_teacher)


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


# DPAL through a persistent data worker (it lives through the epochs of
# the uninterrupted run, a fresh one starts after the resume), SAIP in the
# main process (its own masks and rescale factors)
RUNS = {'dpal': (DPAL_DEMO, 1), 'saip': (SAIP_DEMO, 0)}


def _cfg(method, synthetic_root, work_dir):
    config, workers = RUNS[method]
    cfg = tiny_cfg(config, synthetic_root, work_dir)
    cfg.train_dataloader.dataset.indices = 4  # 2 iterations per epoch
    if method == 'dpal':  # 40 MB checkpoints, not 440
        with_small_teacher(cfg)
    if workers:
        cfg.train_dataloader.update(
            num_workers=workers, persistent_workers=True)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    return cfg


def _losses(runner):
    return runner.message_hub.get_scalar('train/loss').data[0].tolist()


def _run(cfg, stop=None):
    runner = RUNNERS.build(cfg)
    if stop is None:
        runner.train()
        return runner
    runner.register_hook(stop)
    with pytest.raises(_Stopped):
        runner.train()


@pytest.fixture(scope='module')
def uninterrupted(synthetic_root, tmp_path_factory):
    """Losses of 2 epochs x 2 iterations, never stopped, per method."""
    return {
        method: _losses(_run(_cfg(method, synthetic_root,
                                  tmp_path_factory.mktemp(method))))
        for method in RUNS
    }


@pytest.mark.parametrize('method', list(RUNS))
@pytest.mark.slow
def test_resumed_run_matches_the_uninterrupted_one(
        method, synthetic_root, tmp_path, uninterrupted):
    want = uninterrupted[method]
    assert len(want) == 4 and len(set(want)) == 4
    _run(_cfg(method, synthetic_root, tmp_path), _StopAfterFirstEpoch())
    cfg = _cfg(method, synthetic_root, tmp_path)
    cfg.resume = True
    resumed = _run(cfg)
    assert resumed.epoch == 2 and resumed.iter == 4
    assert _losses(resumed) == want  # bit-identical, every iteration
    ckpt = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    assert set(ckpt['random_state']) >= {'python', 'numpy', 'torch'}


def test_resume_inside_an_epoch_continues_it(synthetic_root, tmp_path,
                                             uninterrupted):
    """A checkpoint every 3 iterations of 2-iteration epochs; killed after
    iteration 3 (half way through epoch 2) and resumed: iteration 4 only,
    with the uninterrupted run's loss."""
    def cfg():
        c = _cfg('saip', synthetic_root, tmp_path)
        c.default_hooks.checkpoint = dict(
            type='SafeCheckpointHook', interval=3, by_epoch=False)
        assert c.train_dataloader.sampler.type == 'ResumableSampler'
        return c

    _run(cfg(), _StopAfterIteration(3))
    resumed_cfg = cfg()
    resumed_cfg.resume = True
    resumed = _run(resumed_cfg)
    assert resumed.iter == 4 and resumed.epoch == 2
    assert _losses(resumed) == uninterrupted['saip']
