"""PA-100K pedestrian attributes (``annotation.mat`` + ``data/``)."""
import os.path as osp
from typing import List

import numpy as np

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS
from ..utils.errors import InputDataError


def _strings(cell) -> List[str]:
    return [str(np.asarray(c).reshape(-1)[0]) for c in np.asarray(
        cell, dtype=object).reshape(-1)]


@DATASETS.register_module()
class PA100KDataset(BaseDataset):
    """PA-100K's layout: ``annotation.mat`` with ``attributes`` and
    ``{train,val,test}_images_name`` / ``_label``, images in ``data/``.

    Every sample has ``img_path`` and ``gt_score`` (A,) float 0/1;
    ``self.attributes`` lists the A names.
    """

    def __init__(self, data_root: str, split: str = 'train', **kwargs):
        if split not in ('train', 'val', 'test'):
            raise ValueError(f'split must be train, val or test, got '
                             f'{split!r}')
        self.split = split
        super().__init__(data_root=data_root, ann_file='annotation.mat',
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        from scipy.io import loadmat
        if not osp.isfile(self.ann_file):
            raise InputDataError(f'PA-100K annotation not found: '
                                 f'{self.ann_file}')
        mat = loadmat(self.ann_file)
        self.attributes = _strings(mat['attributes'])
        names = _strings(mat[f'{self.split}_images_name'])
        labels = np.asarray(mat[f'{self.split}_label'], np.float32)
        return [
            dict(img_path=osp.join(self.data_root, 'data', n),
                 gt_score=labels[i]) for i, n in enumerate(names)
        ]
