from .anchor_mask import anchor_keep_ids, keep_ids_from_base_mask
from .attention import (SDPAMultiheadAttention, UnbindQKVAttention,
                        unbind_qkv_attention)
from .backbone_extraction import (export_backbone, extract_backbone_state,
                                  plain_backbone_cfg)
from .checkpoint_loading import load_teacher_weights
from .optim_step_cosine_ema import OptimStepCosineEMA
from .reference_init import reference_vit_init
from .shape_mask import pca_shape_mask
from .token_grid import as_tokens, backbone_tokens, resize_patch_tokens

__all__ = [
    'export_backbone', 'extract_backbone_state', 'plain_backbone_cfg',
    'SDPAMultiheadAttention', 'UnbindQKVAttention', 'unbind_qkv_attention',
    'pca_shape_mask', 'load_teacher_weights',
    'as_tokens', 'backbone_tokens', 'resize_patch_tokens',
    'anchor_keep_ids', 'keep_ids_from_base_mask', 'OptimStepCosineEMA',
    'reference_vit_init'
]
