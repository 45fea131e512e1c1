from .canvas_pool import CanvasPool
from .crowd_composite_views import (CrowdCompositeViews, paste,
                                    side_by_side_boxes)
from .cv2_view_augs import (CV2ColorJitter, CV2GaussianBlur,
                            CV2RandomGrayscale, CV2RandomResizedCrop)
from .load_checked_image import LoadCheckedImageFromFile
from .pack_views import PackViews

__all__ = [
    'CanvasPool', 'CrowdCompositeViews', 'CV2ColorJitter', 'CV2GaussianBlur',
    'CV2RandomGrayscale', 'CV2RandomResizedCrop', 'LoadCheckedImageFromFile',
    'PackViews', 'paste', 'side_by_side_boxes'
]
