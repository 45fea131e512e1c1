"""A run stopped inside an epoch and resumed at another batch size continues
after the same sample, with the iteration counter, the schedule and the
(auto-scaled) learning rate of a run at the new batch; where the samples
done are not whole new iterations it refuses in one line."""
import pytest
import torch
from mmengine.hooks import Hook
from toy_runner import Toy, Values

from projects.saip_dpal.engine import GuardedRunner
from projects.saip_dpal.engine.hooks import ResumeStateHook
from projects.saip_dpal.utils import InputDataError

SAMPLES = list(range(1, 17))  # 16 samples: 8 iterations per epoch at 2


class _Stopped(Exception):
    pass


class _Record(Hook):
    """Each iteration's samples and learning rate; a stop after ``stop``."""
    priority = 'LOWEST'  # after the checkpoint hook

    def __init__(self, stop=None):
        self.stop, self.iters = stop, []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        lr = runner.optim_wrapper.get_lr()['lr'][0]
        self.iters.append(
            (runner.iter, data_batch['inputs'][:, 0].tolist(), lr))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.stop:
            raise _Stopped


def _run(work_dir, batch_size, stop=None, resume=False, **cfg):
    record = _Record(stop)
    runner = GuardedRunner(
        model=Toy(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=Values(SAMPLES),
            sampler=dict(type='ResumableSampler', shuffle=True, seed=0),
            batch_size=batch_size,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        # warmup over epoch 1, cosine over epoch 2, both per iteration
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0,
                 end=1, convert_to_iter_based=True),
            dict(type='CosineAnnealingLR', T_max=1, eta_min=1e-4,
                 by_epoch=True, begin=1, end=2, convert_to_iter_based=True)
        ],
        auto_scale_lr=dict(base_batch_size=4, enable=True),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(
            checkpoint=dict(type='SafeCheckpointHook', interval=1,
                            by_epoch=False, max_keep_ckpts=1),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[ResumeStateHook(), record],
        randomness=dict(seed=0),
        resume=resume,
        default_scope='mmpretrain',
        log_level='WARNING',
        cfg=dict(**cfg),
        experiment_name=f'batch_{abs(hash(str(work_dir)))}_{stop}_{resume}')
    if stop is None:
        runner.train()
    else:
        with pytest.raises(_Stopped):
            runner.train()
    return runner, record.iters


@pytest.fixture(scope='module')
def at_batch_4(tmp_path_factory):
    """The uninterrupted run at batch 4: 4 iterations per epoch."""
    runner, iters = _run(tmp_path_factory.mktemp('bs4'), 4)
    assert runner.iter == 8 and len(iters) == 8
    return iters


def _samples(iters):
    return [v for _, batch, _ in iters for v in batch]


def test_resume_at_a_larger_batch_continues_after_the_same_sample(
        tmp_path, at_batch_4):
    _, before = _run(tmp_path, 2, stop=4)  # half of epoch 1 at batch 2
    assert _samples(before) == _samples(at_batch_4[:2])
    runner, after = _run(tmp_path, 4, resume=True)
    # the rest of epoch 1 and all of epoch 2, as the run at batch 4 had
    # them: same iterations, same samples, the same learning rates
    assert [(i, b) for i, b, _ in after] == [(i, b)
                                             for i, b, _ in at_batch_4[2:]]
    assert [lr for *_, lr in after] == pytest.approx(
        [lr for *_, lr in at_batch_4[2:]], rel=1e-6)
    assert runner.iter == 8 and runner.epoch == 2
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_8.pth')
    ckpt = torch.load(tmp_path / 'iter_8.pth', weights_only=True)
    assert ckpt['epoch_position']['batch_size'] == 4
    assert ckpt['meta']['iter'] == 8


def test_resume_at_a_smaller_batch_continues_after_the_same_sample(
        tmp_path, at_batch_4):
    _, before = _run(tmp_path, 4, stop=3)  # 3 of 4 iterations of epoch 1
    runner, after = _run(tmp_path, 2, resume=True)
    assert after[0][0] == 6  # 12 samples done = 6 iterations at batch 2
    assert _samples(after[:2]) == at_batch_4[3][1]
    assert _samples(after[2:]) == _samples(at_batch_4[4:])
    assert runner.iter == 16


def test_a_position_between_new_iterations_is_refused_in_one_line(
        tmp_path, at_batch_4):
    _run(tmp_path, 2, stop=3)  # 6 samples: not whole iterations at 4
    with pytest.raises(InputDataError) as err:
        _run(tmp_path, 4, resume=True)
    assert str(err.value) == (
        'iter_3.pth: saved 3 iterations into epoch 1 at batch 2 x 1 rank '
        '(6 samples), which is not a whole number of iterations at batch '
        '4 x 1 rank: resume with a total batch that divides 6, or from the '
        'start of the epoch with --cfg-options resume_at_epoch_start=True')
    # as it says: the epoch again from its start, at its starting rate
    runner, after = _run(tmp_path, 4, resume=True, resume_at_epoch_start=True)
    assert [(i, b) for i, b, _ in after] == [(i, b) for i, b, _ in at_batch_4]
    assert [lr for *_, lr in after] == pytest.approx(
        [lr for *_, lr in at_batch_4], rel=1e-6)
    assert runner.iter == 8


def test_train_tool_names_the_file_and_resumes_as_it_says(
        synthetic_root, tmp_path, capsys):
    """Through ``tools/train.py``: a SAIP run saved 1 of 2 iterations into
    epoch 1 at batch 2, resumed at batch 4 (one line, exit 1), then from
    the epoch start as the line says (exit 0, the epoch trained)."""
    from conftest import run_tool
    from pretrain_helpers import SAIP_DEMO, tiny_cfg
    cfg = tiny_cfg(SAIP_DEMO, synthetic_root, tmp_path / 'w')
    cfg.train_dataloader.dataset.indices = 4
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    cfg.default_hooks.checkpoint = dict(
        type='SafeCheckpointHook', interval=1, by_epoch=False)
    cfg.dump(str(tmp_path / 'config.py'))
    code, err = run_tool('tools/train.py', [tmp_path / 'config.py'], capsys)
    assert code == 0, err[-20:]
    argv = [tmp_path / 'config.py', '--resume', tmp_path / 'w' / 'iter_1.pth',
            '--cfg-options', 'train_dataloader.batch_size=4']
    code, err = run_tool('tools/train.py', argv, capsys)
    assert code == 1 and err[-1] == (
        'error: iter_1.pth: saved 1 iteration into epoch 1 at batch 2 x 1 '
        'rank (2 samples), which is not a whole number of iterations at '
        'batch 4 x 1 rank: resume with a total batch that divides 2, or '
        'from the start of the epoch with --cfg-options '
        'resume_at_epoch_start=True'), err[-5:]
    code, err = run_tool('tools/train.py',
                         argv + ['resume_at_epoch_start=True'], capsys)
    assert code == 0, err[-20:]
    ckpt = torch.load(tmp_path / 'w' / 'iter_1.pth', weights_only=True)
    assert ckpt['epoch_position'] == dict(
        epoch=0, iters_done=1, iters_per_epoch=1, batch_size=4, world_size=1)
    assert (tmp_path / 'w' / 'last_checkpoint').read_text().endswith(
        'iter_1.pth')
