"""mmseg's LoadAnnotations that names a mask with labels out of range."""
import numpy as np
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

from ..utils.errors import InputDataError


@TRANSFORMS.register_module()
class LoadCheckedAnnotations(LoadAnnotations):
    """Load a part mask and check its labels.

    A label that is neither a class id (``0 .. num_classes - 1``) nor
    ``ignore_index`` would otherwise fail at the loss, far from the file
    (``Target 25 is out of bounds``); here it is an :class:`InputDataError`
    naming the mask and the bad labels.

    Args:
        num_classes (int): number of classes of the dataset.
        ignore_index (int): the label the loss and metric skip.
            Defaults to 255.
        **kwargs: as mmseg's ``LoadAnnotations``.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def _load_seg_map(self, results: dict) -> None:
        super()._load_seg_map(results)
        seg = results['gt_seg_map']
        if seg.size and int(seg.max()) < self.num_classes:
            return  # the usual case, one pass over the mask
        labels = np.unique(seg)
        bad = labels[(labels >= self.num_classes)
                     & (labels != self.ignore_index)]
        if bad.size:
            raise InputDataError(
                f'{results["seg_map_path"]}: labels '
                f'{", ".join(map(str, bad.tolist()))} are outside 0..'
                f'{self.num_classes - 1} (ignore {self.ignore_index})')
