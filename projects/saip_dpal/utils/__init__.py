from .config_text import parse_config_text
from .errors import InputDataError, TrainingDivergedError, one_line
from .launch import (check_work_dir_writable, close_distributed,
                     prepare_cpu_distributed)
from .runner_cli import add_common_args, load_config, merge_common_args

__all__ = [
    'InputDataError', 'add_common_args', 'check_work_dir_writable',
    'close_distributed', 'load_config',
    'merge_common_args', 'one_line', 'parse_config_text',
    'prepare_cpu_distributed', 'TrainingDivergedError'
]
