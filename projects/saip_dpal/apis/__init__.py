from .hvp_benchmark import (HVP_TASKS, HVPTask, check_backbone_fits, finetune,
                            finetune_config, format_hvp_table,
                            read_backbone_file, run_hvp_benchmark,
                            use_backbone)

__all__ = [
    'HVP_TASKS', 'HVPTask', 'check_backbone_fits', 'finetune',
    'finetune_config', 'format_hvp_table', 'read_backbone_file',
    'run_hvp_benchmark', 'use_backbone'
]
