"""Linear warm-up of the teacher temperature of SAIP's matching loss."""
from functools import reduce
from typing import Optional

from mmengine.hooks import Hook

from mmpretrain.registry import HOOKS
from .unwrap_model import unwrap_model


@HOOKS.register_module()
class TeacherTemperatureHook(Hook):
    """Set the teacher temperature before every training iteration.

    ``T(i) = warmup_temp + (temp - warmup_temp) * min(i / W, 1)`` with ``i``
    the global iteration ``runner.iter`` (so it is smooth per iteration and
    right after a resume) and ``W`` the warm-up length in iterations; after
    the warm-up ``T = temp``. The value is written to the attribute at the
    dotted path ``attr`` of the (DDP-unwrapped) model and logged as
    ``train/teacher_temp``.

    Args:
        warmup_temp (float): Temperature at iteration 0. Defaults to 0.07.
        temp (float): Temperature after the warm-up. Defaults to 0.04.
        warmup_iters (int, optional): Warm-up length in iterations; takes
            precedence over ``warmup_epochs`` when given.
        warmup_epochs (int): Warm-up length in epochs (converted with
            ``len(runner.train_dataloader)``) when ``by_epoch``.
            Defaults to 30.
        by_epoch (bool): Measure the warm-up in epochs. Defaults to True;
            with False, ``warmup_iters`` is required.
        attr (str): Dotted path of the temperature from the model.
            Defaults to 'matching_head.loss_rep.teacher_temp'.
    """
    priority = 'NORMAL'

    def __init__(self,
                 warmup_temp: float = 0.07,
                 temp: float = 0.04,
                 warmup_iters: Optional[int] = None,
                 warmup_epochs: int = 30,
                 by_epoch: bool = True,
                 attr: str = 'matching_head.loss_rep.teacher_temp'
                 ) -> None:
        if warmup_iters is None and not by_epoch:
            raise ValueError('warmup_iters is required when by_epoch=False')
        if (warmup_iters if warmup_iters is not None else warmup_epochs) < 0:
            raise ValueError('the warm-up length must be >= 0')
        if not attr:
            raise ValueError('attr must be a dotted attribute path')
        self.warmup_temp = float(warmup_temp)
        self.temp = float(temp)
        self.warmup_iters = warmup_iters
        self.warmup_epochs = warmup_epochs
        self.by_epoch = by_epoch
        self.attr = attr

    def total_warmup_iters(self, runner) -> int:
        """Warm-up length in iterations."""
        if self.warmup_iters is not None:
            return int(self.warmup_iters)
        return int(self.warmup_epochs) * len(runner.train_dataloader)

    def temperature(self, cur_iter: int, warmup_iters: int) -> float:
        """Temperature at global iteration ``cur_iter``."""
        if warmup_iters <= 0 or cur_iter >= warmup_iters:
            return self.temp
        return self.warmup_temp + (self.temp - self.warmup_temp) * (
            cur_iter / warmup_iters)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        model = unwrap_model(runner)
        *parents, name = self.attr.split('.')
        try:
            owner = reduce(getattr, parents, model)
            getattr(owner, name)
        except AttributeError as e:
            raise AttributeError(
                f'{type(model).__name__} has no {self.attr} for '
                'TeacherTemperatureHook') from e
        value = self.temperature(runner.iter, self.total_warmup_iters(runner))
        setattr(owner, name, value)
        runner.message_hub.update_scalar('train/teacher_temp', value)
