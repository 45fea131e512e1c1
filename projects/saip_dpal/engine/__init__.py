from .backbone_state_dict_loading import load_backbone_files_into_models
from .checkpoint_meta_guard import (check_checkpoint_meta,
                                    guard_runner_checkpoint_meta)
from .config_text_cache import cache_config_pretty_text
from .console_log_filter import filter_console_log
from .checkpoint_safe_globals import (checkpoint_safe_globals,
                                      register_checkpoint_safe_globals)
from .strict_pretrained_init import (load_pretrained,
                                     make_pretrained_init_strict)
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403

__all__ = [
    'cache_config_pretty_text', 'check_checkpoint_meta',
    'checkpoint_safe_globals', 'filter_console_log',
    'guard_runner_checkpoint_meta', 'load_backbone_files_into_models',
    'load_pretrained',
    'make_pretrained_init_strict', 'register_checkpoint_safe_globals'
]
