from .untrusted_files import (check_config_texts, parse_config_text,
                              read_checkpoint)
from .errors import (CheckpointNotSaved, InputDataError, TrainingDivergedError,
                     TrainingInterrupted, one_line)
from .launch import (check_work_dir_writable, close_distributed,
                     is_collective_timeout, prepare_cpu_distributed,
                     stopped_ranks_line)
from .runner_cli import add_common_args, load_config, merge_common_args

__all__ = [
    'CheckpointNotSaved', 'InputDataError', 'add_common_args', 'check_config_texts',
    'check_work_dir_writable', 'read_checkpoint',
    'close_distributed', 'is_collective_timeout', 'load_config',
    'stopped_ranks_line',
    'merge_common_args', 'one_line', 'parse_config_text',
    'prepare_cpu_distributed', 'TrainingDivergedError',
    'TrainingInterrupted'
]
