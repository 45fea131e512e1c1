"""Measuring backbones on the synthetic data: the fine-tune loop behind
``make demo`` and ``tools/analysis_tools/hvp_benchmark.py`` (each backbone
through the pose, parsing, ReID and attribute configs), the frozen probes
and the seeds study behind ``tools/analysis_tools/hvp_study.py``, and the
pretraining runs both print."""
from .hvp_benchmark import (HVP_TASKS, HVPTask, check_backbone_fits, finetune,
                            finetune_config, format_hvp_table,
                            run_hvp_benchmark, use_backbone)

__all__ = [
    'HVP_TASKS', 'HVPTask', 'check_backbone_fits', 'finetune',
    'finetune_config', 'format_hvp_table', 'run_hvp_benchmark',
    'use_backbone'
]
