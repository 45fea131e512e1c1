from .dpal_global_alignment_loss import DPALGlobalAlignLoss
from .dpal_local_alignment_loss import DPALLocalAlignLoss
from .dpal_relation_alignment_loss import DPALRelationAlignLoss
from .attention_relation_loss import AttentionRelationLoss
from .attribute_weighted_bce_loss import AttributeWeightedBCELoss
from .cross_scale_matching_loss import CrossScaleMatchingLoss

__all__ = [
    'DPALGlobalAlignLoss', 'DPALLocalAlignLoss', 'DPALRelationAlignLoss',
    'AttentionRelationLoss', 'AttributeWeightedBCELoss',
    'CrossScaleMatchingLoss'
]
