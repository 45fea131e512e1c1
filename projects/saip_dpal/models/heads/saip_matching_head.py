"""SAIP's cross-scale matching (CSM) head: projection and its two losses."""
from typing import Dict, List, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

Maps = Sequence[Tuple[torch.Tensor, torch.Tensor]]


@MODELS.register_module()
class SAIPMatchingHead(BaseModule):
    """Cross-scale matching: the student's projected cls tokens against the
    momentum encoder's, and its attention relations against the momentum
    encoder's.

    Args:
        projection (dict): :class:`SAIPProjectionHead`, (N, C) -> (N, K);
            the momentum encoder keeps an averaged copy of it.
        loss_rep (dict): :class:`CrossScaleMatchingLoss` over cross-view
            pairs of projections (``loss_csm_rep``); its ``teacher_temp`` is
            driven by :class:`TeacherTemperatureHook`.
        loss_att (dict): :class:`AttentionRelationLoss` between the last
            block's (q.k, v.v) maps of the same global views
            (``loss_csm_att``).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 projection: dict,
                 loss_rep: dict = dict(type='CrossScaleMatchingLoss'),
                 loss_att: dict = dict(type='AttentionRelationLoss'),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.projection = MODELS.build(projection)
        self.loss_rep = MODELS.build(loss_rep)
        self.loss_att = MODELS.build(loss_att)

    def loss(self, student_cls: List[torch.Tensor],
             target_proj: List[torch.Tensor], student_maps: Maps,
             target_maps: Maps) -> Dict[str, torch.Tensor]:
        """The two CSM losses.

        Args:
            student_cls (list[Tensor]): Student cls tokens (n * B, C) of
                n views each, the momentum encoder's views first.
            target_proj (list[Tensor]): The momentum encoder's projections
                (B, K) of its views.
            student_maps, target_maps: Per global view its (q.k, v.v)
                attention maps (B, H, N, N).
        """
        B = target_proj[0].shape[0]
        # one projection call for all views: one pass over the K-way layer
        proj = self.projection(torch.cat(student_cls)).split(B)
        return dict(
            loss_csm_rep=self.loss_rep(list(proj), target_proj),
            loss_csm_att=self.loss_att(target_maps, student_maps))
