"""MSMT17 person re-identification (list files + image folders)."""
import os.path as osp
from typing import List, Tuple

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS
from ..utils.errors import InputDataError
from .market1501_dataset import test_samples, train_samples


@DATASETS.register_module()
class MSMT17Dataset(BaseDataset):
    """Person re-identification crops in MSMT17's release layout.

    ``<root>/train/`` and ``<root>/test/`` (or V2's ``mask_train_v2/`` /
    ``mask_test_v2/``) with ``list_{train,val,query,gallery}.txt``, each line
    ``<path under train/ or test/> <pid>``; the camera is the third ``_``
    field of the file name (1..15): ``0000/0000_000_01_0303morning_0015_0.jpg
    0`` is identity 0 in camera 1.

    ``split='train'``: ``list_train`` (plus ``list_val`` with ``with_val``,
    the usual practice), ids relabelled to 0..N-1 (``gt_label``).
    ``split='test'``: ``list_query`` then ``list_gallery`` with ``is_query``
    flags and the raw ids. Every sample has ``img_path``, ``gt_label``,
    ``camid``, ``is_query``, as :class:`Market1501Dataset`.

    Args:
        data_root (str): The MSMT17 folder.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        with_val (bool): Add ``list_val`` to the training set. Defaults to
            True.
    """
    LISTS = dict(train=('list_train.txt', 'list_val.txt'),
                 test=('list_query.txt', 'list_gallery.txt'))
    #: image folders of (V1, V2) per split
    FOLDERS = dict(train=('train', 'mask_train_v2'),
                   test=('test', 'mask_test_v2'))

    def __init__(self, data_root: str, split: str = 'train',
                 with_val: bool = True, **kwargs):
        if split not in self.LISTS:
            raise ValueError(f'split must be train or test, got {split!r}')
        self.split = split
        self.with_val = with_val
        super().__init__(data_root=data_root, ann_file='', **kwargs)

    def _image_folder(self) -> str:
        for name in self.FOLDERS[self.split]:
            path = osp.join(self.data_root, name)
            if osp.isdir(path):
                return path
        raise InputDataError(
            f'MSMT17 folder not found: {self.data_root} has none of '
            f'{"/, ".join(self.FOLDERS[self.split])}/')

    def _read_list(self, name: str,
                   folder: str) -> List[Tuple[str, int, int]]:
        """(image path, pid, camid) of every line of list file ``name``."""
        list_path = osp.join(self.data_root, name)
        if not osp.isfile(list_path):
            raise InputDataError(f'MSMT17 list file not found: {list_path}')
        items = []
        with open(list_path) as f:
            for num, line in enumerate(f, 1):
                fields = line.split()
                if not fields:
                    continue
                try:
                    rel, pid = fields
                    pid = int(pid)
                    cam = int(osp.basename(rel).split('_')[2])
                except (ValueError, IndexError):
                    raise InputDataError(
                        f'{list_path}:{num}: expected "<dir>/<pid>_<n>_'
                        f'<cam>_....jpg <pid>", got {line.strip()!r}'
                    ) from None
                path = osp.join(folder, rel)
                if not osp.isfile(path):
                    raise InputDataError(
                        f'MSMT17 image not found: {path} ({list_path}:'
                        f'{num})')
                items.append((path, pid, cam))
        return items

    def load_data_list(self) -> List[dict]:
        folder = self._image_folder()
        if self.split == 'train':
            names = self.LISTS['train'][:2 if self.with_val else 1]
            data = train_samples(it for name in names
                                 for it in self._read_list(name, folder))
        else:
            data = test_samples(*(self._read_list(name, folder)
                                  for name in self.LISTS['test']))
        if not data:
            raise InputDataError(f'no MSMT17 images listed under '
                                 f'{self.data_root} for split {self.split}')
        return data
