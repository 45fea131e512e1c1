"""Image loading that names a missing or corrupt file and can skip it."""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log

from mmpretrain.registry import TRANSFORMS
from ...utils.errors import InputDataError


@TRANSFORMS.register_module()
class LoadCheckedImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` with a one-line error naming the bad file.

    A missing file or bytes that do not decode raise :class:`InputDataError`
    (``missing image file: PATH`` / ``corrupt or unreadable image: PATH``).
    With ``skip_bad=True`` the sample is dropped with a warning that counts
    the bad files seen so far (per worker process), and the dataset draws
    another index (mmengine ``BaseDataset`` refetch; not in ``test_mode``).

    A sample that already holds its image and no path (mmpretrain's
    inferencers, e.g. ``FeatureExtractor``, load images themselves) passes
    through.

    Args:
        skip_bad (bool): skip bad files instead of failing. Defaults to False.
        **kwargs: as :class:`mmcv.transforms.LoadImageFromFile`.

    Added keys: ``img`` (H, W, 3) uint8 (float32 with ``to_float32``),
    ``img_shape``, ``ori_shape``.
    """

    def __init__(self, skip_bad: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.skip_bad = skip_bad
        self.num_bad = 0

    def _fail(self, reason: str, filename: str) -> None:
        if not self.skip_bad:
            raise InputDataError(f'{reason}: {filename}')
        self.num_bad += 1
        print_log(
            f'skipped {reason}: {filename} '
            f'({self.num_bad} bad image(s) skipped so far)',
            logger='current',
            level=30)

    def transform(self, results: dict) -> Optional[dict]:
        if 'img_path' not in results and 'img' in results:
            return results
        filename = results['img_path']
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError:
            return self._fail('missing image file', filename)
        if img_bytes is None:  # an LMDB without the key
            return self._fail('missing image file', filename)
        try:
            img = mmcv.imfrombytes(
                img_bytes,
                flag=self.color_type,
                backend=self.imdecode_backend)
        except Exception:  # decoders raise many types on garbage bytes
            img = None
        if img is None or img.size == 0:
            return self._fail('corrupt or unreadable image', filename)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(skip_bad={self.skip_bad}, '
                f'color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r})')
