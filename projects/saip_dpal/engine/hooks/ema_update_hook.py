"""Update a model's EMA copy after every optimizer step."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class EMAUpdateHook(Hook):
    """Call ``model.update_ema()`` after each training iteration that stepped
    the optimizer (with gradient accumulation, only on the stepping ones).

    Keeping the update out of the forward pass keeps the loss free of the
    host-device synchronisations the EMA's step counter needs. Works with
    and without a DDP wrapper.
    """
    priority = 'NORMAL'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if not runner.optim_wrapper.should_update():
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        model.update_ema()
