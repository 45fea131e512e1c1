"""Update a model's EMA copies after every optimizer step."""
import math

from mmengine.hooks import Hook

from mmpretrain.registry import HOOKS
from ...models.utils.optim_step_cosine_ema import OptimStepCosineEMA
from .unwrap_model import unwrap_model


@HOOKS.register_module()
class EMAUpdateHook(Hook):
    """Call ``model.update_ema()`` after each training iteration that stepped
    the optimizer (with gradient accumulation, only on the stepping ones).

    Before training it gives every :class:`OptimStepCosineEMA` of the model
    its schedule: ``ceil(max_iters / accumulation)`` optimizer steps (the
    optimizer wrapper also steps on a last, partial window) and the
    accumulation, so the momentum runs over optimizer steps and ends at its
    end value on the last one.

    Keeping the update out of the forward pass keeps the loss free of
    host-device synchronisations. Works with and without a DDP wrapper.
    """
    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        accumulation = int(
            getattr(runner.optim_wrapper, '_accumulative_counts', 1))
        total = math.ceil(runner.max_iters / accumulation)
        for m in unwrap_model(runner).modules():
            if isinstance(m, OptimStepCosineEMA):
                m.set_schedule(total, accumulation)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if not runner.optim_wrapper.should_update():
            return
        unwrap_model(runner).update_ema()
