from .saip_projection_head import SAIPProjectionHead, WeightNormLinear
from .saip_reconstruction_head import SAIPReconstructionHead
from .saip_search_head import SAIPSearchHead, mask_to_grid

__all__ = [
    'SAIPProjectionHead', 'WeightNormLinear', 'SAIPSearchHead', 'mask_to_grid',
    'SAIPReconstructionHead'
]
