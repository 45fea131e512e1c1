from .reid_head import ReIDHead, batch_hard_triplet_loss
from .saip_matching_head import SAIPMatchingHead
from .saip_projection_head import SAIPProjectionHead, WeightNormLinear
from .saip_reconstruction_head import SAIPReconstructionHead
from .saip_search_head import SAIPSearchHead, mask_to_grid

__all__ = [
    'ReIDHead', 'batch_hard_triplet_loss', 'SAIPMatchingHead',
    'SAIPProjectionHead', 'WeightNormLinear', 'SAIPSearchHead', 'mask_to_grid',
    'SAIPReconstructionHead'
]
