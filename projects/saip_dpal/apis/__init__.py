from .backbone_features import (BackboneFeatures, extract_features,
                                image_batch, image_files, load_backbone)
from .hvp_benchmark import (HVP_TASKS, HVPTask, check_backbone_fits, finetune,
                            finetune_config, format_hvp_table,
                            read_backbone_file, run_hvp_benchmark,
                            use_backbone)

__all__ = [
    'BackboneFeatures', 'extract_features', 'image_batch', 'image_files',
    'load_backbone',
    'HVP_TASKS', 'HVPTask', 'check_backbone_fits', 'finetune',
    'finetune_config', 'format_hvp_table', 'read_backbone_file',
    'run_hvp_benchmark', 'use_backbone'
]
