from .dpal import DPAL
from .saip import SAIP, boxes_to_masks

__all__ = ['DPAL', 'SAIP', 'boxes_to_masks']
