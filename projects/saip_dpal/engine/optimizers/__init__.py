from .trainable_optim_wrapper_constructor import \
    TrainableOptimWrapperConstructor
from .vit_layer_decay_optim_wrapper_constructor import (
    ViTLayerDecayOptimWrapperConstructor, vit_layer_id)

__all__ = [
    'TrainableOptimWrapperConstructor', 'ViTLayerDecayOptimWrapperConstructor',
    'vit_layer_id'
]
