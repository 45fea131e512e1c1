from .dpal_global_alignment_loss import DPALGlobalAlignLoss
from .dpal_local_alignment_loss import DPALLocalAlignLoss
from .dpal_relation_alignment_loss import DPALRelationAlignLoss

__all__ = [
    'DPALGlobalAlignLoss', 'DPALLocalAlignLoss', 'DPALRelationAlignLoss'
]
