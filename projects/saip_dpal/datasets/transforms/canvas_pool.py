"""A folder of arbitrary images to draw crowd-view canvases from."""
import os.path as osp
from typing import List

import mmcv
import numpy as np

from ...utils.errors import InputDataError
from ...utils.image_folder import find_images


class CanvasPool:
    """Every image under ``root`` (recursive), listed once at construction.

    Args:
        root (str): The canvas folder (LUPerson images, ImageNet, scenes...).

    Raises:
        InputDataError: ``root`` is missing or holds no image.
    """

    def __init__(self, root: str):
        if not osp.isdir(root):
            raise InputDataError(f'canvas folder not found: {root}')
        self.root = root
        self.files: List[str] = find_images(root)
        if not self.files:
            raise InputDataError(f'no canvas images found under {root}')

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> np.ndarray:
        """The image ``index`` as (H, W, 3) uint8 BGR; one-line error if it
        is missing or does not decode."""
        path = self.files[index]
        try:
            img = mmcv.imread(path)
        except Exception:  # OSError, cv2.error on empty or garbage bytes
            img = None
        if img is None or img.size == 0:
            raise InputDataError(f'corrupt or unreadable canvas image: {path}')
        return img

    def sample(self) -> np.ndarray:
        """A uniformly drawn canvas (numpy's global RNG, seeded per worker
        by mmengine)."""
        return self.load(int(np.random.randint(len(self.files))))
