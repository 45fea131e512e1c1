from .backbone_maps import (LastBlockAttention, backbone_maps, feature_pca,
                            images_to_batch, render_panels,
                            write_backbone_maps)

__all__ = [
    'LastBlockAttention', 'backbone_maps', 'feature_pca', 'images_to_batch',
    'render_panels', 'write_backbone_maps'
]
