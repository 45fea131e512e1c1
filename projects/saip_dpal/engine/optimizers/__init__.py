from .amp_or_fp32_optim_wrapper import AmpOrFP32OptimWrapper
from .trainable_optim_wrapper_constructor import \
    TrainableOptimWrapperConstructor
from .vit_layer_decay_optim_wrapper_constructor import (
    ViTLayerDecayOptimWrapperConstructor, vit_layer_id)

__all__ = [
    'AmpOrFP32OptimWrapper', 'TrainableOptimWrapperConstructor',
    'ViTLayerDecayOptimWrapperConstructor', 'vit_layer_id'
]
