"""Single-person crops with LIP human-parsing masks (mmseg ``LIPDataset``).

Layout::

    LIP/{train,val}_images/{i:06d}.jpg
    LIP/{train,val}_segmentations/{i:06d}.png   (H, W) uint8, ids 0..19

The ids are :data:`person_renderer.LIP_CLASSES`; left / right are the
person's own sides, like the keypoints. Bags are background, as in LIP.
"""
import os.path as osp

from .common import backgrounds, crop_size, fresh_dir, item_rng, scaled, \
    write_jpg, write_png
from .scene import person_crop

NUM_IMAGES = dict(train=48, val=16)


def lip_sample(seed, split, index):
    """The :class:`Scene` of image ``index`` of ``split`` ('train'/'val');
    its ``canvas.seg`` is the mask written."""
    rng = item_rng(seed, f'lip_{split}', index)
    h, w = crop_size(rng, 240, (0.5, 0.85), jitter=0.25)
    return person_crop(rng, backgrounds().sample(rng, h, w),
                       fill=(0.72, 0.95))


def write_lip(out_dir, seed=0, scale=1.0):
    """Write ``LIP/`` under ``out_dir``.

    Returns:
        dict: per split the image count, and the path.
    """
    root = fresh_dir(osp.join(out_dir, 'LIP'))
    summary = dict(path=root)
    for split, base in NUM_IMAGES.items():
        n = scaled(base, scale)
        for i in range(n):
            scene = lip_sample(seed, split, i)
            name = f'{i:06d}'
            write_jpg(osp.join(root, f'{split}_images', name + '.jpg'),
                      scene.image)
            write_png(osp.join(root, f'{split}_segmentations', name + '.png'),
                      scene.canvas.seg)
        summary[split] = n
    return summary
