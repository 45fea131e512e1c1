from .flip_swap_seg_tta_model import FlipSwapSegTTAModel

__all__ = ['FlipSwapSegTTAModel']
