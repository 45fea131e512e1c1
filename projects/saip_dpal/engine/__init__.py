from .guarded_runner import CachedTextConfig, GuardedRunner
from .strict_pretrained_init import StrictPretrainedInit, load_pretrained
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403

__all__ = [
    'CachedTextConfig', 'GuardedRunner', 'StrictPretrainedInit',
    'load_pretrained'
]
