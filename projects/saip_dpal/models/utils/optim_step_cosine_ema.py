"""EMA copy whose momentum follows a cosine over optimizer steps."""
import math
from typing import Optional

import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import BaseAveragedModel


def _forget_host_steps(module, incompatible_keys) -> None:
    """Load hook: re-read the update count from the loaded buffer."""
    module._host_steps = None


class OptimStepCosineEMA(BaseAveragedModel):
    """Exponential moving average updated once per optimizer step.

    ``avg <- (1 - m_k) avg + m_k src`` at the k-th update (k = 0 .. K - 1),
    with the momentum (weight of the new value, mmpretrain's convention)

    ``m_k = m_end + (m_0 - m_end) * (1 + cos(pi k / (K - 1))) / 2``

    (``m_end`` = ``end_momentum``)

    so the schedule ends at exactly ``end_momentum`` (decay 1 by default) on
    the last optimizer step. ``momentum`` is given **per training batch**, as
    the reference trainers update their EMA after every batch; with
    ``accumulation`` batches per optimizer step the start is the effective
    per-step value ``m_0 = 1 - (1 - momentum) ** accumulation`` (decay
    0.996 per batch -> 0.996^4 = 0.98410 per step at 4 accumulation steps).

    ``K`` and ``accumulation`` come from :meth:`set_schedule`, which
    :class:`EMAUpdateHook` calls before training from the runner's
    ``max_iters`` and the optimizer wrapper's accumulation. Without it ``K``
    is the message hub's ``max_iters`` and ``accumulation`` 1. The update
    count is the ``steps`` buffer (saved, so the schedule continues on
    resume); it is read from the device once, then counted on the host, so
    updates never synchronise.

    Args:
        model (nn.Module): The module to average (deep-copied, frozen).
        momentum (float): Start momentum per training batch.
            Defaults to 0.004 (decay 0.996).
        end_momentum (float): Momentum of the last update. Defaults to 0.
        device (torch.device, optional): Device of the copy.
    """

    def __init__(self,
                 model: nn.Module,
                 momentum: float = 0.004,
                 end_momentum: float = 0.,
                 device: Optional[torch.device] = None) -> None:
        super().__init__(model=model, interval=1, device=device)
        if not (0. <= momentum <= 1. and 0. <= end_momentum <= 1.):
            raise ValueError(f'momentum {momentum} and end_momentum '
                             f'{end_momentum} must lie in [0, 1]')
        self.momentum = float(momentum)
        self.end_momentum = float(end_momentum)
        self.total_steps: Optional[int] = None
        self.accumulation = 1
        self._host_steps: Optional[int] = None
        self.register_load_state_dict_post_hook(_forget_host_steps)

    def set_schedule(self, total_steps: int, accumulation: int = 1) -> None:
        """Length ``K`` of the schedule in optimizer steps, and the training
        batches per optimizer step."""
        if total_steps < 1 or accumulation < 1:
            raise ValueError(f'total_steps {total_steps} and accumulation '
                             f'{accumulation} must be >= 1')
        self.total_steps = int(total_steps)
        self.accumulation = int(accumulation)

    @property
    def start_momentum(self) -> float:
        """Momentum of the first optimizer step."""
        return 1. - (1. - self.momentum)**self.accumulation

    def momentum_at(self, step: int) -> float:
        """Momentum of the update with index ``step`` (0-based)."""
        total = self.total_steps
        if total is None:
            total = int(MessageHub.get_current_instance().get_info(
                'max_iters'))
        progress = min(step / max(total - 1, 1), 1.)
        cosine = (1. + math.cos(math.pi * progress)) / 2.
        return self.end_momentum + (self.start_momentum -
                                    self.end_momentum) * cosine

    def avg_func(self, averaged_param: torch.Tensor,
                 source_param: torch.Tensor, steps: int) -> None:
        """One tensor's update (``BaseAveragedModel``'s interface; the
        fused :meth:`update_parameters` applies the same rule to all)."""
        averaged_param.lerp_(source_param, self.momentum_at(steps))

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """One EMA step towards ``model`` (every parameter, fused); buffers
        are copied."""
        if self._host_steps is None:
            self._host_steps = int(self.steps)
        m = self.momentum_at(self._host_steps)
        source = dict(model.named_parameters())
        avg = [p for p in self.avg_parameters.values()
               if p.dtype.is_floating_point]
        src = [source[k].detach().to(p.device)
               for k, p in self.avg_parameters.items()
               if p.dtype.is_floating_point]
        if avg:
            torch._foreach_lerp_(avg, src, m)
        for b_avg, b_src in zip(self.module.buffers(), model.buffers()):
            b_avg.copy_(b_src.to(b_avg.device))
        self._host_steps += 1
        self.steps.add_(1)
