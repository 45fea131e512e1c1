from .canvas_pool import CanvasPool
from .crowd_composite_views import (CrowdCompositeViews, paste,
                                    side_by_side_boxes)
from .cv2_view_augs import (CV2ColorJitter, CV2GaussianBlur,
                            CV2RandomGrayscale, CV2RandomResizedCrop)
from .load_checked_annotations import LoadCheckedAnnotations
from .load_checked_image import LoadCheckedImageFromFile
from .parsing_flip import LIP_SWAP_PAIRS, RandomFlipSwapLabels

__all__ = [
    'CanvasPool', 'CrowdCompositeViews', 'CV2ColorJitter', 'CV2GaussianBlur',
    'CV2RandomGrayscale', 'CV2RandomResizedCrop', 'LIP_SWAP_PAIRS',
    'LoadCheckedAnnotations', 'LoadCheckedImageFromFile',
    'RandomFlipSwapLabels', 'paste', 'side_by_side_boxes'
]
