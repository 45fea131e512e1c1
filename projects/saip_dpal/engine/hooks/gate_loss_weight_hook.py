"""Step schedule of DPAL's gate (routing) loss weight."""
from typing import Sequence

from mmengine.hooks import Hook

from mmpretrain.registry import HOOKS
from .unwrap_model import unwrap_model


@HOOKS.register_module()
class GateLossWeightHook(Hook):
    """Set ``model.gate_loss_weight`` at the start of every training epoch:
    ``weights[0]`` before ``milestone`` epochs have run, ``weights[1]`` from
    then on (DPAL: 0.1, then 0.01 after epoch 20). Computed from the epoch
    counter, so a resumed run gets the right value; works with and without a
    DDP wrapper. The value is logged as ``gate_loss_weight``.

    Args:
        milestone (int): Epochs trained with the first weight. Defaults to 20.
        weights (tuple[float, float]): Weights before / after. Defaults to
            (0.1, 0.01).
    """
    priority = 'NORMAL'

    def __init__(self,
                 milestone: int = 20,
                 weights: Sequence[float] = (0.1, 0.01)) -> None:
        if len(weights) != 2:
            raise ValueError(f'weights must be (before, after), got {weights}')
        self.milestone = milestone
        self.weights = tuple(float(w) for w in weights)

    def before_train_epoch(self, runner) -> None:
        model = unwrap_model(runner)
        if not hasattr(model, 'gate_loss_weight'):
            raise AttributeError(
                f'{type(model).__name__} has no gate_loss_weight for '
                'GateLossWeightHook')
        model.gate_loss_weight = self.weights[int(
            runner.epoch >= self.milestone)]

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        model = unwrap_model(runner)
        runner.message_hub.update_scalar('train/gate_loss_weight',
                                         model.gate_loss_weight)
