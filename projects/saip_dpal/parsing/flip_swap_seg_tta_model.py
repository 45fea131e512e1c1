"""Test-time augmentation for human parsing with left/right label swap."""
from typing import List, Sequence, Tuple

import torch

from mmseg.models import SegTTAModel
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from .parsing_flip import LIP_SWAP_PAIRS


@MODELS.register_module()
class FlipSwapSegTTAModel(SegTTAModel):
    """mmseg's ``SegTTAModel`` for parsing maps with left/right classes.

    mmseg's segmentor flips the logits of a horizontally flipped view back
    in space, but a left arm seen mirrored is predicted as a right arm. This
    model also swaps the class channels of each pair in ``swap_pairs`` of
    such a view, (C, H, W) -> (C, H, W), before the views' softmaxes are
    averaged. Views without a horizontal flip are merged unchanged.

    Args:
        swap_pairs (Sequence[Tuple[int, int]]): Left/right class ids.
            Defaults to LIP's arms, legs and shoes.
        **kwargs: ``SegTTAModel`` arguments (``module``, ...).
    """

    def __init__(self,
                 swap_pairs: Sequence[Tuple[int, int]] = LIP_SWAP_PAIRS,
                 **kwargs):
        super().__init__(**kwargs)
        self.swap_pairs = tuple((int(a), int(b)) for a, b in swap_pairs)

    def _swap_order(self, num_classes: int,
                    device: torch.device) -> torch.Tensor:
        order = list(range(num_classes))
        for a, b in self.swap_pairs:
            if max(a, b) >= num_classes:
                raise ValueError(f'swap pair ({a}, {b}) is outside the '
                                 f'{num_classes} classes')
            order[a], order[b] = b, a
        return torch.tensor(order, device=device)

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        for data_samples in data_samples_list:
            for sample in data_samples:
                if sample.metainfo.get('flip') and sample.metainfo.get(
                        'flip_direction', 'horizontal') == 'horizontal':
                    logits = sample.seg_logits.data
                    sample.seg_logits.data = logits[self._swap_order(
                        logits.shape[0], logits.device)]
        return super().merge_preds(data_samples_list)
