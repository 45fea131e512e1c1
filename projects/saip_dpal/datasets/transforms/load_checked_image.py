"""Image loading that names a missing or corrupt file and can skip it."""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log
from mmengine.registry import TRANSFORMS

from ...utils.errors import InputDataError


# mmengine's root registry: mmpretrain's, mmpose's and mmseg's configs find it
@TRANSFORMS.register_module()
class LoadCheckedImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` with a one-line error naming the bad file.

    A missing file or bytes that do not decode raise :class:`InputDataError`
    (``missing image file: PATH`` / ``corrupt or unreadable image: PATH``).
    With ``skip_bad=True`` the sample is dropped and the dataset draws
    another index (mmengine ``BaseDataset`` refetch; not in ``test_mode``);
    the first ``10`` skipped files are logged, then every ``100``th, with
    the count so far (per worker process). ``max_bad_in_a_row`` bad files
    in a row (every image bad: a wrong root or prefix) stop with one line.

    A sample that already holds its image and no path (the toolboxes'
    inferencers load images themselves) passes through, with its shapes
    set as mmpose's ``LoadImage`` sets them. It is the image loader of all
    our configs (pretraining, pose, parsing, ReID, attributes).

    Args:
        skip_bad (bool): skip bad files instead of failing. Defaults to False.
        max_bad_in_a_row (int): with ``skip_bad``, how many bad files in a
            row stop the run. Defaults to 50.
        **kwargs: as :class:`mmcv.transforms.LoadImageFromFile`.

    Added keys: ``img`` (H, W, 3) uint8 (float32 with ``to_float32``),
    ``img_shape``, ``ori_shape``.
    """

    def __init__(self, skip_bad: bool = False, max_bad_in_a_row: int = 50,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.skip_bad = skip_bad
        self.max_bad_in_a_row = max_bad_in_a_row
        self.num_bad = 0
        self.bad_in_a_row = 0

    def _fail(self, reason: str, filename: str) -> None:
        if not self.skip_bad:
            raise InputDataError(f'{reason}: {filename}')
        self.num_bad += 1
        self.bad_in_a_row += 1
        if self.bad_in_a_row >= self.max_bad_in_a_row:
            raise InputDataError(
                f'{self.bad_in_a_row} images in a row were bad with '
                f'skip_bad=True (the last, {reason}: {filename}): check the '
                "dataset's data_root and data_prefix")
        if self.num_bad <= 10 or self.num_bad % 100 == 0:
            print_log(
                f'skipped {reason}: {filename} '
                f'({self.num_bad} bad image(s) skipped so far)',
                logger='current',
                level=30)

    def transform(self, results: dict) -> Optional[dict]:
        if results.get('img') is not None and \
                results.get('img_path') is None:
            results.setdefault('img_path', None)
            results['img_shape'] = results['img'].shape[:2]
            results['ori_shape'] = results['img'].shape[:2]
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
        self.bad_in_a_row = 0
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(skip_bad={self.skip_bad}, '
                f'max_bad_in_a_row={self.max_bad_in_a_row}, '
                f'color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r})')
