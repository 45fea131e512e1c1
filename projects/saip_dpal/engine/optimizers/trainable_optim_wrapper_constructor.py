"""Optimizer constructor that leaves frozen sub-modules out entirely."""
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor

from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` that never hands a sub-module
    without trainable parameters to the optimizer (a frozen teacher, an EMA
    copy), and says so in one log line instead of one warning per tensor.
    ``paramwise_cfg`` (decay multipliers, custom keys) applies as usual.
    """

    def __call__(self, model: nn.Module):
        self._frozen = []
        if not self.paramwise_cfg:
            # the default would pass model.parameters(), frozen ones included
            self.paramwise_cfg = dict(custom_keys={})
        optim_wrapper = super().__call__(model)
        if self._frozen:
            print_log(
                'optimizer skips frozen modules: ' + ', '.join(self._frozen),
                logger='current')
        return optim_wrapper

    def add_params(self, params, module, prefix='', is_dcn_module=None):
        if not any(p.requires_grad for p in module.parameters()):
            if any(True for _ in module.parameters()):
                self._frozen.append(prefix or type(module).__name__)
            return
        super().add_params(params, module, prefix, is_dcn_module)
