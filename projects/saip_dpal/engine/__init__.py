from .checkpoint_meta_guard import (check_checkpoint_meta,
                                    guard_runner_checkpoint_meta)
from .checkpoint_safe_globals import (checkpoint_safe_globals,
                                      register_checkpoint_safe_globals)
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403

__all__ = [
    'check_checkpoint_meta', 'checkpoint_safe_globals',
    'guard_runner_checkpoint_meta', 'register_checkpoint_safe_globals'
]
