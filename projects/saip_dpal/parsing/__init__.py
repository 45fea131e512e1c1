"""Human parsing with mmseg: the CIHP dataset, checked label loading, the
left/right-swapping flip and its test-time augmentation.

Imported by the parsing configs (``custom_imports``), not by the
pretraining plugin: pretraining does not load mmseg.
"""
from .cihp_dataset import CIHPDataset
from .flip_swap_seg_tta_model import FlipSwapSegTTAModel
from .load_checked_annotations import LoadCheckedAnnotations
from .parsing_flip import LIP_SWAP_PAIRS, RandomFlipSwapLabels

__all__ = [
    'CIHPDataset', 'FlipSwapSegTTAModel', 'LIP_SWAP_PAIRS',
    'LoadCheckedAnnotations', 'RandomFlipSwapLabels'
]
