from .identity_balanced_sampler import IdentityBalancedSampler
from .resumable_sampler import ResumableSampler

__all__ = ['IdentityBalancedSampler', 'ResumableSampler']
