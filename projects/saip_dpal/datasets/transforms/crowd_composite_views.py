"""Global, local and crowd views of one person image (DPAL, SAIP)."""
from typing import List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, Compose

from mmpretrain.registry import TRANSFORMS
from ...utils.errors import InputDataError
from .canvas_pool import CanvasPool


def side_by_side_boxes(canvas_hw: Tuple[int, int], box_hw: Tuple[int, int],
                       num: int) -> np.ndarray:
    """``num`` random (x1, y1, x2, y2) boxes of size ``box_hw`` on a canvas,
    each starting right of the previous one, so they never overlap.

    Returns:
        ndarray: (num, 4) int64 boxes, x2/y2 exclusive.
    """
    H, W = canvas_hw
    h, w = box_hw
    if h > H or num * w > W:
        raise InputDataError(
            f'{num} paste boxes of {h}x{w} (HxW) do not fit side by side on a '
            f'{H}x{W} canvas')
    boxes = np.zeros((num, 4), np.int64)
    x = 0
    for i in range(num):
        room = W - (num - i) * w  # leave space for the boxes still to come
        x = int(np.random.randint(x, room + 1))
        y = int(np.random.randint(0, H - h + 1))
        boxes[i] = (x, y, x + w, y + h)
        x += w
    return boxes


def paste(canvas: np.ndarray, patches: Sequence[np.ndarray],
          boxes: np.ndarray, alpha: float) -> np.ndarray:
    """Alpha-blend each uint8 patch (h, w, 3) into its box:
    ``alpha * patch + (1 - alpha) * canvas`` rounded; returns a new uint8
    canvas (only the boxes are computed)."""
    out = canvas.copy()
    for patch, (x1, y1, x2, y2) in zip(patches, boxes):
        out[y1:y2, x1:x2] = cv2.addWeighted(patch, alpha, out[y1:y2, x1:x2],
                                            1. - alpha, 0.)
    return out


@TRANSFORMS.register_module()
class CrowdCompositeViews(BaseTransform):
    """Global, ``num_locals`` local and one crowd view of a person image.

    The global and local views come from the input image through their own
    pipelines (mmpretrain cv2/PIL transforms, no normalisation: the data
    preprocessor normalises). The crowd view is a canvas drawn from
    ``canvas_root`` through ``canvas_pipeline``, with two persons
    alpha-blended into side-by-side boxes of ``paste_size``: the last local
    view (left) and the global view resized to ``paste_size`` (the
    "region", right). DPAL uses one global view; SAIP adds a second global
    view (``second_global_pipeline``) and the region itself as a view
    (``with_region``).

    Required keys: ``img``. Modified keys: ``img`` becomes a dict of named
    views: ``global`` (Hg, Wg, 3), ``global_2`` (Hg, Wg, 3, with
    ``second_global_pipeline``), ``locals`` (a list of ``num_locals - 1``
    (Hl, Wl, 3) views), ``pasted_local`` (Hl, Wl, 3, the local view on the
    crowd view), ``region`` (Hl, Wl, 3, with ``with_region``) and
    ``crowd`` (Hc, Wc, 3). Added keys: ``paste_boxes``, a dict of the
    (x1, y1, x2, y2) int64 boxes (4,) of ``pasted_local`` and ``region`` on
    the crowd view. :class:`PackViews` packs the views by name.

    Args:
        global_pipeline (list[dict]): Transforms of the global view.
        local_pipeline (list[dict]): Transforms of each local view.
        canvas_pipeline (list[dict]): Transforms of the canvas.
        canvas_root (str): Folder of canvas images (searched recursively).
        num_locals (int): Number of local views n (>= 1). Defaults to 2.
        paste_size (tuple[int, int]): (h, w) of the pasted persons; must
            equal the local views' size. Defaults to (128, 96).
        alpha (float): Person weight in the blend. Defaults to 0.7.
        second_global_pipeline (list[dict], optional): Transforms of a
            second global view (SAIP's g2). Defaults to None.
        with_region (bool): Also return the pasted region (the resized
            global view) as a view. Defaults to False.
    """

    def __init__(self,
                 global_pipeline: List[dict],
                 local_pipeline: List[dict],
                 canvas_pipeline: List[dict],
                 canvas_root: str,
                 num_locals: int = 2,
                 paste_size: Tuple[int, int] = (128, 96),
                 alpha: float = 0.7,
                 second_global_pipeline: Optional[List[dict]] = None,
                 with_region: bool = False) -> None:
        if num_locals < 1:
            raise ValueError(f'num_locals must be >= 1, got {num_locals}')
        if not 0. <= alpha <= 1.:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        self.global_pipeline = Compose(global_pipeline)
        self.local_pipeline = Compose(local_pipeline)
        self.canvas_pipeline = Compose(canvas_pipeline)
        self.second_global_pipeline = None if second_global_pipeline is \
            None else Compose(second_global_pipeline)
        self.with_region = with_region
        self.canvas_root = canvas_root
        self.num_locals = num_locals
        self.paste_size = tuple(paste_size)
        self.alpha = alpha
        self._pool: Optional[CanvasPool] = None

    @property
    def pool(self) -> CanvasPool:
        """The canvas folder, listed on first use (in the worker)."""
        if self._pool is None:
            self._pool = CanvasPool(self.canvas_root)
        return self._pool

    @staticmethod
    def _view(pipeline: Compose, results: dict) -> np.ndarray:
        # a shallow copy: every view pipeline opens with a crop, which
        # makes a new image and leaves the decoded one as it was
        return pipeline(dict(results))['img']

    def _named(self, global_, global_2, locals_, region, crowd) -> dict:
        """The views (or their sizes) by name; the one place of the
        layout."""
        views = {'global': global_}
        if self.second_global_pipeline is not None:
            views['global_2'] = global_2
        views.update(locals=list(locals_[:-1]), pasted_local=locals_[-1])
        if self.with_region:
            views['region'] = region
        views['crowd'] = crowd
        return views

    def view_sizes(self) -> dict:
        """(h, w) of each view by name, read from the pipelines' opening
        crops (for benchmarks that make views of random pixels)."""

        def size(pipeline):
            scale = pipeline.transforms[0].scale
            return (scale, scale) if isinstance(scale, int) else tuple(scale)

        g2 = self.second_global_pipeline
        return self._named(
            size(self.global_pipeline), g2 and size(g2),
            [size(self.local_pipeline)] * self.num_locals, self.paste_size,
            size(self.canvas_pipeline))

    def transform(self, results: dict) -> dict:
        global_ = self._view(self.global_pipeline, results)
        global_2 = None if self.second_global_pipeline is None else \
            self._view(self.second_global_pipeline, results)
        locals_ = [
            self._view(self.local_pipeline, results)
            for _ in range(self.num_locals)
        ]
        canvas = self.canvas_pipeline(
            dict(img=self.pool.sample(), img_path=self.canvas_root))['img']
        h, w = self.paste_size
        if locals_[-1].shape[:2] != (h, w):
            raise InputDataError(
                f'local views are {locals_[-1].shape[0]}x'
                f'{locals_[-1].shape[1]} but paste_size is {h}x{w}')
        region = mmcv.imresize(
            global_, (w, h), interpolation='bicubic', backend='cv2')
        boxes = side_by_side_boxes(canvas.shape[:2], (h, w), 2)
        crowd = paste(canvas, [locals_[-1], region], boxes, self.alpha)
        results['img'] = self._named(global_, global_2, locals_, region,
                                     crowd)
        results['paste_boxes'] = dict(pasted_local=boxes[0], region=boxes[1])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_locals={self.num_locals}, '
                f'second_global={self.second_global_pipeline is not None}, '
                f'with_region={self.with_region}, '
                f'paste_size={self.paste_size}, alpha={self.alpha}, '
                f'canvas_root={self.canvas_root!r})')
