"""Save a checkpoint and stop when the job is told to stop (SIGTERM)."""
import functools
import multiprocessing
import os
import os.path as osp
import signal
import threading
import time
from typing import Optional, Sequence

import torch
from mmengine.device import get_device
from mmengine.dist import all_reduce, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.registry import HOOKS

from ...utils.errors import TrainingInterrupted
from .safe_checkpoint_hook import _save_atomically, write_text_atomically


# What the main process is doing, shared with its DataLoader workers.
TRAINING, SIGNALLED, RELEASED = 0, 1, 2
# How long a worker's signal waits for the main process to have seen it too.
WORKER_GRACE_S = 10.0


def _leave_signal_to_main(state, signum, frame) -> None:
    """A DataLoader worker's handler of the stop signals: while the main
    process handles the same signal (one sent to the whole process group),
    the worker keeps serving batches and the main process stops it once
    the checkpoint is saved; otherwise (the main process has released the
    workers, or never saw the signal, as with multiprocessing's terminate
    of a worker) the worker dies of it as by default."""
    deadline = time.monotonic() + WORKER_GRACE_S
    while state.value == TRAINING and time.monotonic() < deadline:
        time.sleep(0.01)
    if state.value == SIGNALLED:
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _worker_init(state, signums, worker_init_fn, worker_id):
    for signum in signums:
        signal.signal(signum,
                      functools.partial(_leave_signal_to_main, state))
    if worker_init_fn is not None:
        worker_init_fn(worker_id)


@HOOKS.register_module()
class SignalCheckpointHook(Hook):
    """On SIGTERM (and the other ``signals``), finish the current iteration,
    save ``iter_N.pth`` atomically (as :class:`SafeCheckpointHook`, with
    ``last_checkpoint`` naming it), say so in one line and stop with exit
    status ``128 + signal`` (143 for SIGTERM).

    Clusters send SIGTERM before they kill a preempted job or one past its
    time limit (Slurm's ``--signal`` sends SIGUSR1 or another, at a set
    time before the end: add it to ``signals``). Every rank stops at the
    same iteration (the ranks' flags are all-reduced after each
    iteration). DataLoader workers leave these signals to the main process
    while it handles them too, so a signal to the whole process group
    reaches the training loop, not a worker mid-batch; a signal the main
    process does not see (multiprocessing's terminate of a worker) ends
    the worker as usual.
    A second signal while the first is being handled takes the signal's
    previous action (the save is atomic: the last good checkpoint stays).
    Resuming from the file is exact (:class:`ResumeStateHook`).

    Args:
        signals (Sequence[str]): signal names. Defaults to ``('SIGTERM',)``.
    """
    priority = 'LOWEST'  # after the checkpoint hook of the same iteration

    def __init__(self, signals: Sequence[str] = ('SIGTERM', )) -> None:
        unknown = [s for s in signals if not hasattr(signal, s)]
        if unknown:
            raise ValueError(f'SignalCheckpointHook: no signal named '
                             f'{", ".join(unknown)}')
        self.signums = [getattr(signal, s) for s in signals]
        self._previous: dict = {}
        self._received: Optional[int] = None
        self._state = None  # shared with the workers of the train loader

    def _handle(self, signum, frame) -> None:
        if self._received is not None:  # the second time: as before us
            previous = self._previous.get(signum, signal.SIG_DFL)
            self.release()  # signals only: this is a signal handler
            if callable(previous):
                previous(signum, frame)
            else:
                signal.raise_signal(signum)
            return
        self._received = signum
        if self._state is not None:
            self._state.value = SIGNALLED

    def before_train(self, runner) -> None:
        if threading.current_thread() is not threading.main_thread():
            runner.logger.warning(
                'SignalCheckpointHook: training outside the main thread, '
                'signals are left as they are')
            return
        self._received = None
        for signum in self.signums:
            self._previous[signum] = signal.signal(signum, self._handle)
        loader = runner.train_loop.dataloader
        if getattr(loader, 'num_workers', 0):
            init = loader.worker_init_fn
            if getattr(init, 'func', None) is _worker_init:  # train() again
                init = init.args[-1]
            self._state = multiprocessing.RawValue('b', TRAINING)
            loader.worker_init_fn = functools.partial(
                _worker_init, self._state, tuple(self.signums), init)

    def after_train(self, runner) -> None:
        self.release(runner)

    def release(self, runner=None) -> None:
        """Give the signals back their previous handlers, let the train
        loader's workers die of them again and stop its persistent workers.
        Also called by ``GuardedRunner`` when training ends by an error
        (with another runner, a worker that outlives a failed training
        takes ``WORKER_GRACE_S`` to end at exit)."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}
        if self._state is not None:
            self._state.value = RELEASED
        loop = getattr(runner, '_train_loop', None)
        iterator = getattr(getattr(loop, 'dataloader', None), '_iterator',
                           None)
        if hasattr(iterator, '_shutdown_workers'):
            iterator._shutdown_workers()

    def _stop_requested(self, runner) -> int:
        received = self._received or 0
        if get_world_size() > 1:
            flag = torch.tensor([received], device=get_device())
            all_reduce(flag, op='max')
            received = int(flag.item())
        return received

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        signum = self._stop_requested(runner)
        if not signum:
            return
        step = runner.iter + 1
        path = self._save(runner, step)
        name = signal.Signals(signum).name
        message = (f'stopped by {name} after iteration {step}: saved '
                   f'{path}; continue with --resume')
        runner.logger.warning(message)
        self.release(runner)
        raise TrainingInterrupted(128 + signum, message)

    def _save(self, runner, step: int) -> str:
        """Save at ``step`` unless the checkpoint hook just did."""
        hook = next((h for h in runner.hooks
                     if isinstance(h, CheckpointHook)), None)
        out_dir = getattr(hook, 'out_dir', None) or runner.work_dir
        name = f'iter_{step}.pth'
        if hook is not None and not hook.by_epoch and hook.last_ckpt == \
                hook.file_backend.join_path(out_dir,
                                            hook.filename_tmpl.format(step)):
            return hook.last_ckpt
        _save_atomically(runner.save_checkpoint, out_dir, name,
                         by_epoch=False, save_optimizer=True,
                         save_param_scheduler=True)
        path = osp.join(out_dir, name)
        if is_main_process():
            write_text_atomically(
                osp.join(runner.work_dir, 'last_checkpoint'), path)
        return path
