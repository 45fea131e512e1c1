"""The downstream fine-tune loop behind ``make demo`` and
``tools/analysis_tools/hvp_benchmark.py``: each backbone through the
pose, parsing, ReID and attribute configs, one table of metrics."""
from .hvp_benchmark import (HVP_TASKS, HVPTask, check_backbone_fits, finetune,
                            finetune_config, format_hvp_table,
                            run_hvp_benchmark, use_backbone)

__all__ = [
    'HVP_TASKS', 'HVPTask', 'check_backbone_fits', 'finetune',
    'finetune_config', 'format_hvp_table', 'run_hvp_benchmark',
    'use_backbone'
]
