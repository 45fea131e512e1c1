from .solider_swin_transformer import SOLIDERSwinTransformer

__all__ = ['SOLIDERSwinTransformer']
