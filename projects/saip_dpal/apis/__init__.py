from .backbone_features import (BackboneFeatures, extract_features,
                                image_batch, image_files, load_backbone)

__all__ = [
    'BackboneFeatures', 'extract_features', 'image_batch', 'image_files',
    'load_backbone'
]
