from .backbone_maps import (LastBlockAttention, backbone_maps, feature_pca,
                            images_to_batch, render_panels, tile,
                            write_backbone_maps)
from .pretraining_maps import (dpal_shape_masks, saip_reconstructions,
                               saip_search_maps, write_pretraining_maps)

__all__ = [
    'LastBlockAttention', 'backbone_maps', 'feature_pca', 'images_to_batch',
    'render_panels', 'tile', 'write_backbone_maps', 'dpal_shape_masks',
    'saip_search_maps', 'saip_reconstructions', 'write_pretraining_maps'
]
