from .canvas_pool import CanvasPool
from .crowd_composite_views import (CrowdCompositeViews, paste,
                                    side_by_side_boxes)
from .load_checked_image import LoadCheckedImageFromFile

__all__ = [
    'CanvasPool', 'CrowdCompositeViews', 'LoadCheckedImageFromFile', 'paste',
    'side_by_side_boxes'
]
