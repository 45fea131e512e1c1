from .anchor_mask import anchor_keep_ids, keep_ids_from_base_mask
from .attention import (SDPAMultiheadAttention, UnbindQKVAttention,
                        unbind_qkv_attention)
from .backbone_extraction import (export_backbone, extract_backbone_state,
                                  plain_backbone_cfg)
from .optim_step_cosine_ema import OptimStepCosineEMA
from .reference_init import reference_vit_init
from .shape_mask import pca_shape_mask
from .token_grid import as_tokens, resize_patch_tokens, token_grid
from .teacher_checkpoints import (convert_path_state_dict,
                                  convert_solider_state_dict,
                                  load_teacher_weights, path_vit_teacher,
                                  solider_swin_teacher)

__all__ = [
    'export_backbone', 'extract_backbone_state', 'plain_backbone_cfg',
    'SDPAMultiheadAttention', 'UnbindQKVAttention', 'unbind_qkv_attention',
    'pca_shape_mask', 'convert_path_state_dict',
    'convert_solider_state_dict', 'load_teacher_weights', 'path_vit_teacher',
    'solider_swin_teacher', 'as_tokens', 'resize_patch_tokens', 'token_grid',
    'anchor_keep_ids', 'keep_ids_from_base_mask', 'OptimStepCosineEMA',
    'reference_vit_init'
]
