"""Horizontal flip for human parsing that also swaps left / right labels."""
from typing import Dict, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS

#: LIP's left/right pairs: arms, legs, shoes
LIP_SWAP_PAIRS = ((14, 15), (16, 17), (18, 19))


@TRANSFORMS.register_module()
class RandomFlipSwapLabels(BaseTransform):
    """With probability ``prob``, flip the image and every segmentation map
    (``seg_fields``, default ``gt_seg_map``) horizontally and exchange the
    ids of each pair in ``swap_pairs`` in the maps, so that a left arm stays
    labelled as a left arm. Other ids (ignore index 255 included) are kept.

    Writes ``flip`` / ``flip_direction`` like mmcv's ``RandomFlip``. For the
    training pipeline only: mmseg un-flips test-time logits without
    swapping channels, so flip test is not supported with it.
    """

    def __init__(self,
                 prob: float = 0.5,
                 swap_pairs: Sequence[Tuple[int, int]] = LIP_SWAP_PAIRS):
        assert 0. <= prob <= 1., prob
        self.prob = prob
        self.swap_pairs = tuple((int(a), int(b)) for a, b in swap_pairs)
        lut = np.arange(256, dtype=np.int64)
        for a, b in self.swap_pairs:
            assert 0 <= a < 256 and 0 <= b < 256 and a != b, (a, b)
            lut[a], lut[b] = b, a
        self._lut = lut

    def swap(self, seg: np.ndarray) -> np.ndarray:
        """Exchange the paired ids of an integer map (values < 256)."""
        return self._lut[seg].astype(seg.dtype)

    def transform(self, results: Dict) -> Optional[Dict]:
        flip = bool(np.random.rand() < self.prob)
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        if not flip:
            return results
        results['img'] = mmcv.imflip(results['img'], direction='horizontal')
        for key in results.get('seg_fields', ['gt_seg_map']):
            if key in results:
                seg = mmcv.imflip(results[key], direction='horizontal')
                results[key] = self.swap(np.ascontiguousarray(seg))
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'swap_pairs={self.swap_pairs})')
