"""Market-1501 / MSMT17-style person re-identification folders."""
import os
import os.path as osp
import re
from typing import Iterable, List

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS
from ..utils.errors import InputDataError

#: ``PPPP_cCsS_...jpg`` (Market-1501) and ``PPPP_cC_...jpg`` (MSMT17 style)
NAME = re.compile(r'^(-?\d+)_c(\d+)')


def train_samples(items: Iterable[tuple]) -> List[dict]:
    """ReID training samples from ``(path, pid, camid)``: pids relabelled
    to 0..N-1 in sorted order (``gt_label``)."""
    items = list(items)
    relabel = {pid: i for i, pid in enumerate(sorted({it[1]
                                                      for it in items}))}
    return [dict(img_path=path, gt_label=relabel[pid], camid=cam,
                 is_query=False) for path, pid, cam in items]


def test_samples(query: Iterable[tuple],
                 gallery: Iterable[tuple]) -> List[dict]:
    """ReID test samples from ``(path, pid, camid)``: query then gallery,
    raw pids, ``is_query`` flags."""
    return [dict(img_path=path, gt_label=pid, camid=cam, is_query=is_query)
            for items, is_query in ((query, True), (gallery, False))
            for path, pid, cam in items]


@DATASETS.register_module()
class Market1501Dataset(BaseDataset):
    """Person re-identification crops in Market-1501's folder layout.

    ``split='train'``: ``bounding_box_train/``, identities relabelled to
    0..N-1 (``gt_label``), junk (id -1) skipped. ``split='test'``:
    ``query/`` then ``bounding_box_test/`` with ``is_query`` flags and the
    raw ids (0 distractors, -1 junk), for :class:`ReIDMetric`. Every sample
    has ``img_path``, ``gt_label``, ``camid``, ``is_query``.
    """
    FOLDERS = dict(train=('bounding_box_train', ),
                   test=('query', 'bounding_box_test'))

    def __init__(self, data_root: str, split: str = 'train', **kwargs):
        if split not in self.FOLDERS:
            raise ValueError(f'split must be train or test, got {split!r}')
        self.split = split
        super().__init__(data_root=data_root, ann_file='', **kwargs)

    @property
    def num_ids(self) -> int:
        """Identities of the split (the classifier's classes for train)."""
        return len({self.get_data_info(i)['gt_label']
                    for i in range(len(self))})

    def _scan(self, folder: str) -> List[tuple]:
        path = osp.join(self.data_root, folder)
        if not osp.isdir(path):
            raise InputDataError(f'Market-1501 folder not found: {path}')
        items = []
        for name in sorted(os.listdir(path)):
            match = NAME.match(name)
            if match is None or not name.lower().endswith('.jpg'):
                continue
            items.append((osp.join(path, name), int(match.group(1)),
                          int(match.group(2))))
        return items

    def load_data_list(self) -> List[dict]:
        if self.split == 'train':
            data = train_samples(
                it for it in self._scan('bounding_box_train') if it[1] != -1)
        else:
            data = test_samples(*(self._scan(f)
                                  for f in self.FOLDERS['test']))
        if not data:
            raise InputDataError(f'no Market-1501 images under '
                                 f'{self.data_root} for split {self.split}')
        return data
