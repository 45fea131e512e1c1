from .solider_swin_transformer import SOLIDERSwinTransformer
from .saip_vision_transformer import SAIPVisionTransformer

__all__ = ['SOLIDERSwinTransformer', 'SAIPVisionTransformer']
