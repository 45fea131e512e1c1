"""LUPerson-style unlabelled person crops and scene canvases.

Layout::

    LUPerson/city{c}/video{v:04d}/{i:06d}.jpg   person crops, ~256 x 128
    LUPerson-lmdb/                              the same crops as LUPerson is
                                                distributed: an LMDB, keys
                                                city{c}_video{v:04d}_{i:06d}
    canvas/{i:06d}.jpg                          scenes, 240-480 px a side,
                                                with 0-3 people
"""
import os.path as osp

from .common import backgrounds, crop_size, fresh_dir, item_rng, scaled, \
    write_jpg
from .scene import compose_scene, person_crop

NUM_CROPS = 200
NUM_CANVASES = 32
CROPS_PER_VIDEO = 8


def crop_path(index):
    """Relative path of crop ``index`` (nested by city and video)."""
    video = index // CROPS_PER_VIDEO
    return osp.join(f'city{video % 3}', f'video{video:04d}',
                    f'{index:06d}.jpg')


def write_lup(out_dir, seed=0, scale=1.0):
    """Write ``LUPerson/``, ``LUPerson-lmdb/`` and ``canvas/`` under
    ``out_dir``.

    Returns:
        dict: ``crops`` / ``canvases`` counts and their folders.
    """
    bg = backgrounds()
    lup_dir = fresh_dir(osp.join(out_dir, 'LUPerson'))
    n_crops = scaled(NUM_CROPS, scale)
    for i in range(n_crops):
        rng = item_rng(seed, 'lup', i)
        h, w = crop_size(rng, 256, (0.42, 0.6))
        scene = person_crop(rng, bg.sample(rng, h, w), fill=(0.78, 0.96),
                            bystander_prob=0.2)
        write_jpg(osp.join(lup_dir, crop_path(i)), scene.image)

    from ..lup_person_lmdb import pack_folder
    pack_folder(lup_dir, fresh_dir(osp.join(out_dir, 'LUPerson-lmdb')))

    canvas_dir = fresh_dir(osp.join(out_dir, 'canvas'))
    n_canvas = scaled(NUM_CANVASES, scale)
    for i in range(n_canvas):
        rng = item_rng(seed, 'canvas', i)
        h, w = (int(v) for v in rng.integers(240, 481, 2))
        people = 0 if rng.random() < 0.3 else int(rng.integers(1, 4))
        scene = compose_scene(rng, bg.sample(rng, h, w), people)
        write_jpg(osp.join(canvas_dir, f'{i:06d}.jpg'), scene.image)
    return dict(crops=n_crops, canvases=n_canvas, path=lup_dir,
                canvas_path=canvas_dir)
