"""Resume exactly: random generators and the position inside the epoch."""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmpretrain.registry import HOOKS
from ...datasets.samplers.resumable_sampler import ResumableSampler
from .epoch_position import move_to_new_scale, saved_position


def capture_random_state() -> dict:
    """Python's, numpy's, torch's CPU and (where present) CUDA generators,
    as tensors and plain values (a checkpoint then reads weights-only with
    no allow-list)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=(name, torch.from_numpy(keys.astype(np.int64)), int(pos),
               int(has_gauss), float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: dict) -> None:
    """Inverse of :func:`capture_random_state`."""
    random.setstate(_tuples(state['python']))
    name, keys, *rest = state['numpy']
    keys = keys.numpy() if isinstance(keys, torch.Tensor) else keys
    np.random.set_state((name, np.asarray(keys, np.uint32), *rest))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _tuples(value):
    """``random.setstate`` wants tuples where a round trip may give lists."""
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    return value


@HOOKS.register_module()
class ResumeStateHook(Hook):
    """Continue a resumed run as if it was never stopped.

    - **Random generators.** The main process draws SAIP's masks and
      rescale factors (``torch``, ``numpy``) and, with ``num_workers=0``,
      every augmentation; a resumed Runner would reseed them from the config
      instead. Each checkpoint stores them (``checkpoint['random_state']``);
      on resume they are put back right before the first resumed epoch
      (after the Runner's own seeding and initialisation have drawn theirs).
    - **Position inside the epoch.** mmengine restarts an epoch from its
      first batch when it resumes from a checkpoint saved inside it
      (replaying those iterations). With a :class:`ResumableSampler` the
      batches already trained on are skipped instead, so the epoch ends at
      the right iteration; with another sampler a warning says that the
      epoch restarts.
    - **Worker seeds.** Each epoch's DataLoader iterator draws its workers'
      base seed from a generator seeded with ``seed + epoch`` instead of the
      global one, so it is the same after a resume and never shifts the
      global draws.
    - **Augmentations.** With :class:`ResumableSampler` and a dataset that
      reads its seeded indices (``LUPersonDataset``), each sample is
      augmented from its own seed, so persistent data workers (which carry
      their generators from epoch to epoch, where a resumed run starts
      fresh ones) draw what they would have drawn.

    So a run killed and resumed draws exactly the batches and random values
    of the uninterrupted one (tested for DPAL through 2 persistent workers
    and for SAIP in the main process). Loading a checkpoint for fine-tuning
    (``load_from`` without resume) restores nothing.
    """
    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None
        self._skip_batches = 0

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['random_state'] = capture_random_state()
        loop = getattr(runner, '_train_loop', None)  # built, or not training
        if isinstance(loop, EpochBasedTrainLoop):
            checkpoint['epoch_position'] = saved_position(
                runner, checkpoint['meta'])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return
        self._pending = checkpoint.get('random_state')
        meta = checkpoint.get('meta') or {}
        loop = getattr(runner, 'train_loop', None)
        if not isinstance(loop, EpochBasedTrainLoop):
            return  # iteration-based loops advance the iterator themselves
        if 'epoch_position' in checkpoint:
            self._skip_batches = move_to_new_scale(runner, checkpoint)
        else:  # a checkpoint from before positions were stored
            self._skip_batches = int(meta.get('iter', 0)) - int(
                meta.get('epoch', 0)) * len(loop.dataloader)

    def before_train_epoch(self, runner) -> None:
        loader = runner.train_loop.dataloader
        # each DataLoader iterator draws its workers' base seed; from the
        # global generator that draw would fall before a checkpoint saved
        # inside the epoch but after the restore of a resumed run
        generator = torch.Generator()
        generator.manual_seed((runner.seed or 0) + runner.epoch)
        loader.generator = generator
        if self._pending is not None:
            restore_random_state(self._pending)
            self._pending = None
        if self._skip_batches <= 0:
            return
        sampler = loader.sampler
        if isinstance(sampler, ResumableSampler):
            sampler.skip(self._skip_batches * loader.batch_size)
        else:
            runner.logger.warning(
                f'resumed {self._skip_batches} iterations into an epoch: '
                f'{type(sampler).__name__} restarts the epoch (use '
                'ResumableSampler to continue it)')
        self._skip_batches = 0
