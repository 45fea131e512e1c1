"""Save the random generators with each checkpoint, restore them on resume."""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook

from mmpretrain.registry import HOOKS


def capture_random_state() -> dict:
    """Python's, numpy's, torch's CPU and (where present) CUDA generators."""
    state = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: dict) -> None:
    """Inverse of :func:`capture_random_state`."""
    random.setstate(_tuples(state['python']))
    np.random.set_state(tuple(state['numpy']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _tuples(value):
    """``random.setstate`` wants tuples where a round trip may give lists."""
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    return value


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Continue the random draws of a resumed run as if it was never
    stopped.

    The main process draws SAIP's masks and rescale factors (``torch``,
    ``numpy``) and, with ``num_workers=0``, every augmentation; a resumed
    Runner would reseed them from the config instead. This hook stores the
    generators in each checkpoint (``checkpoint['random_state']``) and, on
    resume, puts them back right before the first resumed epoch (after the
    Runner's own seeding and initialisation have drawn theirs), so a run
    killed and resumed at an epoch boundary draws exactly what the
    uninterrupted one draws. Loading a checkpoint for fine-tuning
    (``load_from`` without resume) leaves the generators alone.
    """
    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['random_state'] = capture_random_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if getattr(runner, '_resume', False) or runner.cfg.get('resume'):
            self._pending = checkpoint.get('random_state')

    def before_train_epoch(self, runner) -> None:
        if self._pending is not None:
            restore_random_state(self._pending)
            self._pending = None
