"""Market-1501-style re-identification crops.

Layout::

    Market-1501/bounding_box_train/PPPP_cCsS_FFFFFF_NN.jpg
    Market-1501/query/PPPP_cCsS_FFFFFF_NN.jpg
    Market-1501/bounding_box_test/PPPP_cCsS_FFFFFF_NN.jpg

All crops are 128 x 64 (H x W). ``PPPP`` is the 4-digit person id, ``C``
the camera (1-6), ``S`` the sequence, ``FFFFFF`` the frame, ``NN`` the box.
A camera is a background family and a colour cast of its own. Train and
test identities are disjoint; each identity is seen by 2-4 cameras; every
query has gallery images of its identity under other cameras. The gallery
also holds distractors (id ``0000``: parts of people) and junk (id ``-1``:
background boxes), as in the real set.
"""
import os.path as osp

from .common import CODES, backgrounds, fresh_dir, item_rng, scaled, \
    write_jpg
from .identity import sample_identities
from .scene import apply_nuisance, camera_cast, person_crop

NUM_TRAIN_IDS = 16
NUM_TEST_IDS = 8
NUM_DISTRACTORS = 6
NUM_JUNK = 4
NUM_CAMERAS = 6
CROP_H, CROP_W = 128, 64


def market_name(pid, cam, seq, frame, box):
    """``PPPP_cCsS_FFFFFF_NN.jpg`` (``pid`` -1 gives ``-1_...``)."""
    pid_s = '-1' if pid < 0 else f'{pid:04d}'
    return f'{pid_s}_c{cam}s{seq}_{frame:06d}_{box:02d}.jpg'


def cameras(seed):
    """Per camera (1..6): its background family and :func:`camera_cast`."""
    fams = backgrounds().families
    order = item_rng(seed, 'market_cams', 0).permutation(len(fams))
    out = {}
    for c in range(1, NUM_CAMERAS + 1):
        rng = item_rng(seed, 'market_cams', c)
        out[c] = dict(family=fams[order[(c - 1) % len(fams)]],
                      cast=camera_cast(rng))
    return out


def _crop(rng, cams, cam, identity=None, fill=(0.8, 0.97), zoom=False):
    cfg = cams[cam]
    bg = backgrounds().sample(rng, CROP_H, CROP_W, cfg['family'])
    if identity is None and not zoom:  # junk: background only
        return apply_nuisance(bg, rng, cfg['cast'])
    return person_crop(rng, bg, identity, fill=fill, cast=cfg['cast'],
                       bystander_prob=0.0 if zoom else 0.1,
                       max_width=4.0 if zoom else 0.95).image


def write_market(out_dir, seed=0, scale=1.0):
    """Write ``Market-1501/`` under ``out_dir``.

    Returns:
        dict: train / query / gallery image counts and id counts.
    """
    root = fresh_dir(osp.join(out_dir, 'Market-1501'))
    n_train = scaled(NUM_TRAIN_IDS, scale, 2)
    n_test = scaled(NUM_TEST_IDS, scale, 2)
    idents = sample_identities(
        seed, n_train + n_test, code=CODES['market_bank'])
    cams = cameras(seed)
    counts = dict(bounding_box_train=0, query=0, bounding_box_test=0)

    def save(folder, rng, pid, cam, index, img):
        frame = 25 * index + int(rng.integers(1, 26))
        name = market_name(pid, cam, int(rng.integers(1, 7)), frame,
                           int(rng.integers(1, 4)))
        write_jpg(osp.join(root, folder, name), img)
        counts[folder] += 1

    for k, ident in enumerate(idents):
        pid = k + 1
        test = k >= n_train
        rng = item_rng(seed, 'market_ids', pid)
        n_cams = int(rng.integers(2, 5))
        id_cams = [int(c) + 1 for c in rng.choice(NUM_CAMERAS, n_cams,
                                                  replace=False)]
        n_img = int(rng.integers(4, 9))
        folder = 'bounding_box_test' if test else 'bounding_box_train'
        for j in range(n_img):
            cam = id_cams[j % n_cams]
            r = item_rng(seed, 'market_img', pid, j)
            save(folder, r, pid, cam, j, _crop(r, cams, cam, ident))
        if test:  # one query in each of the first 1-2 cameras
            for q, cam in enumerate(id_cams[:int(rng.integers(1, 3))]):
                j = n_img + q
                r = item_rng(seed, 'market_img', pid, j)
                save('query', r, pid, cam, j, _crop(r, cams, cam, ident))
    for j in range(scaled(NUM_DISTRACTORS, scale)):
        r = item_rng(seed, 'market_extra', 0, j)
        cam = int(r.integers(1, NUM_CAMERAS + 1))
        save('bounding_box_test', r, 0, cam, j,
             _crop(r, cams, cam, fill=(1.4, 2.2), zoom=True))
    for j in range(scaled(NUM_JUNK, scale)):
        r = item_rng(seed, 'market_extra', 1, j)
        cam = int(r.integers(1, NUM_CAMERAS + 1))
        save('bounding_box_test', r, -1, cam, j, _crop(r, cams, cam))
    return dict(path=root, train_ids=n_train, test_ids=n_test,
                train=counts['bounding_box_train'], query=counts['query'],
                gallery=counts['bounding_box_test'])
