from .dpal_pattern_decoder import DPALPatternDecoder
from .saip_reconstruction_decoder import (SAIPReconstructionDecoder,
                                          sincos_pos_embed_2d)

__all__ = [
    'DPALPatternDecoder', 'SAIPReconstructionDecoder', 'sincos_pos_embed_2d'
]
