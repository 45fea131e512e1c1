"""LUPerson-style folder of unlabelled person crops."""
import os.path as osp

from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS
from ..utils.errors import InputDataError
from .samplers.seeded_index import SeededItems


@DATASETS.register_module()
class LUPersonDataset(SeededItems, CustomDataset):
    """Every image under ``data_root/data_prefix``, searched recursively.

    The layout of LUPerson (and LUP1M, its 1M-image subset) as unpacked to
    folders: no labels, arbitrary nesting. Each sample is ``{'img_path'}``.
    A missing folder or a folder without images is an
    :class:`InputDataError` naming the folder. An index with a seed (from
    :class:`ResumableSampler`) augments its sample from that seed.

    Args:
        data_root (str): dataset root.
        data_prefix (str): sub-folder of ``data_root`` with the images.
        ann_file (str): optional text file listing image paths relative to
            the image folder, one a line (faster than scanning 1M files).
        **kwargs: as :class:`mmpretrain.datasets.CustomDataset`.
    """

    def __init__(self, data_root='', data_prefix='', ann_file='', **kwargs):
        super().__init__(
            data_root=data_root,
            data_prefix=data_prefix,
            ann_file=ann_file,
            with_label=False,
            **kwargs)

    def load_data_list(self):
        if not self.ann_file and not osp.isdir(self.img_prefix):
            raise InputDataError(
                f'image folder not found: {self.img_prefix}')
        try:
            return super().load_data_list()
        except RuntimeError as err:  # CustomDataset: found no image files
            raise InputDataError(
                f'no images ({", ".join(sorted(self.extensions))}) found '
                f'under {self.img_prefix}') from err
