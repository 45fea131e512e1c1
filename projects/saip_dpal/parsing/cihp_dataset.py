"""CIHP (Crowd Instance-level Human Parsing) semantic part maps for mmseg."""
import os.path as osp
from typing import List

from mmseg.datasets import LIPDataset
from mmseg.registry import DATASETS
from ..utils.errors import InputDataError

#: LIP's 20 classes with id 10 as CIHP names it (Torso-skin, not Jumpsuits)
CIHP_CLASSES = LIPDataset.METAINFO['classes'][:10] + (
    'Torso-skin', ) + LIPDataset.METAINFO['classes'][11:]


@DATASETS.register_module()
class CIHPDataset(LIPDataset):
    """CIHP's release layout, read as 20-class semantic parsing::

        <root>/Training/{Images/<id>.jpg, Category_ids/<id>.png,
                         train_id.txt}
        <root>/Validation/{Images/<id>.jpg, Category_ids/<id>.png,
                           val_id.txt}

    The id list names the samples (one id a line). Labels are LIP's ids and
    palette (same left/right pairs 14/15, 16/17, 18/19); only id 10 is
    called Torso-skin. Every sample has ``img_path`` and ``seg_map_path``.

    Args:
        data_root (str): The CIHP folder (``instance-level_human_parsing``).
        split (str): ``'train'`` or ``'val'``. Defaults to ``'train'``.
    """
    METAINFO = dict(LIPDataset.METAINFO, classes=CIHP_CLASSES)
    SPLITS = dict(train=('Training', 'train_id.txt'),
                  val=('Validation', 'val_id.txt'))

    def __init__(self, data_root: str, split: str = 'train', **kwargs):
        if split not in self.SPLITS:
            raise ValueError(f'split must be train or val, got {split!r}')
        self.split = split
        folder, id_list = self.SPLITS[split]
        super().__init__(
            data_root=data_root,
            ann_file=osp.join(folder, id_list),
            data_prefix=dict(
                img_path=osp.join(folder, 'Images'),
                seg_map_path=osp.join(folder, 'Category_ids')),
            **kwargs)

    def load_data_list(self) -> List[dict]:
        img_dir = self.data_prefix['img_path']
        seg_dir = self.data_prefix['seg_map_path']
        for path in (img_dir, seg_dir):
            if not osp.isdir(path):
                raise InputDataError(f'CIHP folder not found: {path}')
        if not osp.isfile(self.ann_file):
            raise InputDataError(f'CIHP id list not found: {self.ann_file}')
        with open(self.ann_file) as f:
            ids = [line.strip() for line in f if line.strip()]
        data_list = []
        for name in ids:
            img = osp.join(img_dir, name + self.img_suffix)
            seg = osp.join(seg_dir, name + self.seg_map_suffix)
            for path in (img, seg):
                if not osp.isfile(path):
                    raise InputDataError(
                        f'CIHP file not found: {path} (listed in '
                        f'{self.ann_file})')
            data_list.append(
                dict(img_path=img, seg_map_path=seg,
                     label_map=self.label_map,
                     reduce_zero_label=self.reduce_zero_label,
                     seg_fields=[]))
        if not data_list:
            raise InputDataError(f'CIHP id list is empty: {self.ann_file}')
        return data_list
