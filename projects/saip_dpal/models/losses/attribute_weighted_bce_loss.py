"""Weighted binary cross-entropy of pedestrian attribute recognition."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmpretrain.registry import MODELS


@MODELS.register_module()
class AttributeWeightedBCELoss(nn.Module):
    """Sigmoid BCE with per-attribute weights from the positive ratios
    ``p_j`` of the training set: a positive label of attribute ``j`` weighs
    ``exp(1 - p_j)``, a negative one ``exp(p_j)``, so rare positives count
    more (the PA-100K protocol).

    The ratios are a buffer ``pos_ratio`` (K,), saved with the model; give
    them here or let :class:`AttributePositiveRatioHook` compute them from
    the training set before training. Called as mmpretrain's
    ``MultiLabelClsHead`` calls its loss: ``loss(cls_score, label,
    weight=None, avg_factor=None, reduction_override=None)``.

    Args:
        pos_ratio (Sequence[float], optional): p_j in [0, 1] per attribute.
            Defaults to None (set later).
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``. ``'mean'``
            divides the sum by ``avg_factor`` when given (the head passes
            the batch size), else by the element count. Defaults to 'mean'.
        loss_weight (float): Scale of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 pos_ratio: Optional[Sequence[float]] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f'reduction must be none, mean or sum, got '
                             f'{reduction!r}')
        self.reduction = reduction
        self.loss_weight = loss_weight
        # empty until set: (K,) once known
        self.register_buffer('pos_ratio', torch.zeros(0))
        #: whether the ratios came from the config (the hook keeps them)
        self.ratio_from_config = pos_ratio is not None
        if pos_ratio is not None:
            self.set_pos_ratio(pos_ratio)

    @property
    def has_pos_ratio(self) -> bool:
        return self.pos_ratio.numel() > 0

    def set_pos_ratio(self, pos_ratio) -> None:
        """Set the (K,) positive ratios, each in [0, 1]."""
        ratio = torch.as_tensor(pos_ratio, dtype=torch.float32).flatten()
        if ratio.numel() == 0 or not bool(
                ((ratio >= 0) & (ratio <= 1)).all()):
            raise ValueError('pos_ratio must be a non-empty list of values '
                             f'in [0, 1], got {pos_ratio}')
        with torch.no_grad():  # in place: a DDP wrapper keeps the buffer
            self.pos_ratio.resize_(ratio.shape).copy_(ratio)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # take the saved ratios whatever their length (or still unset)
        saved = state_dict.get(prefix + 'pos_ratio')
        if saved is not None:
            with torch.no_grad():
                self.pos_ratio.resize_(saved.shape)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        """Loss of logits ``cls_score`` (B, K) against 0/1 ``label``
        (B, K); ``weight`` (B,) or (B, K) scales the elements. Returns a
        scalar ((B, K) with reduction 'none')."""
        if not self.has_pos_ratio:
            raise RuntimeError(
                'AttributeWeightedBCELoss has no positive ratios: give '
                'pos_ratio or add AttributePositiveRatioHook to custom_hooks')
        if cls_score.shape != label.shape or cls_score.dim() != 2:
            raise ValueError(f'cls_score and label must both be (B, K), got '
                             f'{tuple(cls_score.shape)} and '
                             f'{tuple(label.shape)}')
        if cls_score.size(1) != self.pos_ratio.numel():
            raise ValueError(
                f'{cls_score.size(1)} attributes but '
                f'{self.pos_ratio.numel()} positive ratios')
        reduction = reduction_override or self.reduction
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f'unknown reduction {reduction!r}')
        label = label.to(cls_score.dtype)
        ratio = self.pos_ratio.to(cls_score.dtype)
        elem_weight = torch.where(label > 0.5, torch.exp(1 - ratio),
                                  torch.exp(ratio))
        if weight is not None:
            weight = weight.to(cls_score.dtype)
            elem_weight = elem_weight * (
                weight.reshape(-1, 1) if weight.dim() == 1 else weight)
        loss = elem_weight * F.binary_cross_entropy_with_logits(
            cls_score, label, reduction='none')
        if reduction == 'sum':
            loss = loss.sum()
        elif reduction == 'mean':
            loss = loss.sum() / avg_factor if avg_factor is not None \
                else loss.mean()
        return self.loss_weight * loss
