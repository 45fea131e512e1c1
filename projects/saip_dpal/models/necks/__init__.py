from .dpal_pattern_decoder import DPALPatternDecoder

__all__ = ['DPALPatternDecoder']
