from .checkpoint_safe_globals import (checkpoint_safe_globals,
                                      register_checkpoint_safe_globals)
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403

__all__ = ['checkpoint_safe_globals', 'register_checkpoint_safe_globals']
