"""Stop (or skip) on a non-finite loss; never save non-finite weights."""
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.hooks import Hook

from mmpretrain.registry import HOOKS
from ...utils.errors import TrainingDivergedError
from ...utils.async_copies import LaggedHostRead
from .unwrap_model import unwrap_model


def _all_finite(tensors) -> torch.Tensor:
    """A 0-d bool tensor: whether every tensor is finite (one device-side
    reduction, no sync). The max-abs norm is exact: an L2 norm overflows
    for finite values past about 1e19 in float32."""
    if not tensors:
        return torch.ones((), dtype=torch.bool)
    return torch.isfinite(torch.stack(
        torch._foreach_norm(tensors, ord=float('inf')))).all()


def _first_non_finite(named) -> Optional[str]:
    """The name of the first non-finite tensor of ``(name, tensor)``
    pairs, or None (one reduction when all are finite)."""
    if bool(_all_finite([t for _, t in named])):
        return None
    return next(n for n, t in named if not bool(_all_finite([t])))


def _finite_grads(params) -> bool:
    """Whether every gradient is finite."""
    return bool(_all_finite([p.grad for p in params if p.grad is not None]))


@HOOKS.register_module()
class DivergenceGuardHook(Hook):
    """Guard a run against divergence.

    - After every training iteration the logged loss terms are checked; a
      non-finite one stops the run with one :class:`TrainingDivergedError`
      line naming the iteration and the non-finite terms.
    - After every training iteration the trainable weights are checked
      too (a step can overflow them from a finite loss), before the
      checkpoint hook runs, so non-finite weights are never saved and the
      last finite checkpoint is never rotated away. Every rank decides on
      the worst of all ranks' values and all stop together. As a backstop
      the main process refuses to write a checkpoint whose weights are not
      finite.
    - With ``max_skips > 0``, an optimizer step whose gradients are not
      finite is skipped instead (the parameters and optimizer state stay as
      they were), as large-scale trainers do; the run stops on skip
      ``max_skips + 1``. Under AMP the loss scaler skips steps whose
      gradients overflow by itself; those are normal with a dynamic loss
      scale and are not counted (a non-finite loss still is).

    The checks make two flags per iteration on the device (one all-reduce
    of two values across ranks). On CUDA the host reads them one iteration
    late, when their copy has long finished, so the guard never makes the
    host wait for the device: iteration N's verdict comes after iteration
    N + 1 was queued, and before any checkpoint is written and at the end
    of training all pending flags are read. With ``max_skips > 0`` the
    skip is decided on the host before the step (one read of a flag).

    Args:
        max_skips (int): Non-finite steps to skip before stopping.
            Defaults to 0 (stop at the first).
        enabled (bool): False turns every check off (a default hook of
            mmengine's cannot be set to None in a config). Defaults to True.
    """
    priority = 'ABOVE_NORMAL'  # before the logger and the checkpoint hook

    def __init__(self, max_skips: int = 0, enabled: bool = True) -> None:
        if max_skips < 0:
            raise ValueError(f'max_skips must be >= 0, got {max_skips}')
        self.max_skips = int(max_skips)
        self.enabled = bool(enabled)
        self.skipped = 0
        self._step_skipped = False
        self._weights = []
        self._reads = LaggedHostRead()  # the flags, read one step late

    def before_train(self, runner) -> None:
        if not self.enabled:
            return
        self._reads.clear()
        self._weights = [(name, p.detach()) for name, p in
                         unwrap_model(runner).named_parameters()
                         if p.requires_grad and p.is_floating_point()]
        if self.max_skips == 0:
            return
        optimizer = runner.optim_wrapper.optimizer
        step = optimizer.step
        params = [p for g in optimizer.param_groups for p in g['params']]

        def guarded_step(*args, **kwargs):
            if _finite_grads(params):
                return step(*args, **kwargs)
            self._step_skipped = True  # no update, no optimizer state change
            return None

        optimizer.step = guarded_step

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not self.enabled:
            return
        terms = {k: v for k, v in (outputs or {}).items()
                 if isinstance(v, torch.Tensor) and v.is_floating_point()}
        step_skipped, self._step_skipped = self._step_skipped, False
        values = torch.stack([v.detach().float().reshape(()) for v in
                              terms.values()]) if terms else torch.ones(1)
        weights = [w for _, w in self._weights]
        # every rank decides the same: the worst of all ranks' values
        flags = torch.stack([
            torch.isfinite(values).all(), _all_finite(weights).to(
                values.device)
        ]).float()
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(flags, op=dist.ReduceOp.MIN)
        self._reads.push(flags, (runner.iter + 1, terms, values,
                                 step_skipped))
        self._check(runner, self._reads.pop())

    def _check(self, runner, due) -> None:
        """Stop (or skip) on the first bad one of the ``due`` iterations."""
        for flags, (done, terms, values, step_skipped) in due:
            losses_ok, weights_ok = (bool(f) for f in flags.tolist())
            if losses_ok and weights_ok and not step_skipped:
                continue
            self._reads.clear()
            where = f'iteration {done}'
            if not weights_ok and losses_ok:
                bad = _first_non_finite(self._weights) or 'on another rank'
                raise TrainingDivergedError(
                    f'training diverged at {where}: the step made weight '
                    f'{bad} of {type(unwrap_model(runner)).__name__} '
                    f'non-finite; not saved, the last checkpoint in '
                    f'{runner.work_dir} is kept (lower the lr, check the '
                    'data)')
            bad = ', '.join(
                f'{k}={float(v):g}' for k, v in zip(terms, values)
                if not torch.isfinite(v)) or 'values on another rank'
            what = f'non-finite {bad}' if not losses_ok else \
                'non-finite gradients'
            if self.skipped < self.max_skips:
                self.skipped += 1
                runner.logger.warning(
                    f'{where}: {what}; step skipped ({self.skipped} of '
                    f'{self.max_skips} allowed)')
                continue
            raise TrainingDivergedError(
                f'training diverged at {where}: {what}; the last checkpoint '
                f'in {runner.work_dir} is kept (lower the lr, check the '
                'data, or let DivergenceGuardHook skip steps with '
                'max_skips)')

    def after_train(self, runner) -> None:
        if self.enabled:
            self._check(runner, self._reads.pop(wait=True))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if not self.enabled:
            return
        self._check(runner, self._reads.pop(wait=True))
        state = checkpoint.get('state_dict') or {}
        first = _first_non_finite([
            (k, v) for k, v in state.items()
            if isinstance(v, torch.Tensor) and v.is_floating_point()
        ])
        if first is None:
            return
        model = unwrap_model(runner)
        done = (checkpoint.get('meta') or {}).get('iter', runner.iter)
        raise TrainingDivergedError(
            f'training diverged by iteration {done}: '
            f'{type(model).__name__} weight {first} is not finite; no '
            'checkpoint written, the last one is kept')
