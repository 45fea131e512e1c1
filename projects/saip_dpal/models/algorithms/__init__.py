from .dpal import DPAL

__all__ = ['DPAL']
