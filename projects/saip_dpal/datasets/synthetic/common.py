"""Helpers shared by the format writers: seeding, counts, sizes and
byte-deterministic file output."""
import functools
import io
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np

from .backgrounds import BackgroundSampler

JPEG_QUALITY = 90

#: stream codes: every item's rng is ``default_rng([seed, code, *index])``
CODES = dict(
    lup=11, canvas=12, coco_train=21, coco_val=22, lip_train=31, lip_val=32,
    market_ids=41, market_cams=42, market_img=43, market_extra=44,
    market_bank=45,
    pa100k_train=51, pa100k_val=52, pa100k_test=53)


def item_rng(seed, code, *index):
    """The numpy ``Generator`` of one item: independent of generation
    order (``code``: a :data:`CODES` key or int)."""
    code = CODES[code] if isinstance(code, str) else int(code)
    return np.random.default_rng([int(seed), code, *(int(i) for i in index)])


def scaled(base, scale, minimum=1):
    """``base`` items multiplied by ``scale``, at least ``minimum``."""
    return max(int(minimum), int(round(base * float(scale))))


def crop_size(rng, height, aspect, jitter=0.2):
    """(h, w) around ``height`` pixels tall with width / height in
    ``aspect`` (lo, hi), height jittered by +-``jitter``."""
    h = int(round(height * rng.uniform(1 - jitter, 1 + jitter)))
    w = int(round(h * rng.uniform(*aspect)))
    return max(h, 16), max(w, 8)


@functools.lru_cache(maxsize=None)
def backgrounds():
    """The shared :class:`BackgroundSampler` (photos loaded once)."""
    return BackgroundSampler()


#: the file the generator leaves in each folder it writes; only a folder
#: holding it (or an empty one) is emptied by a later run
MARKER = '.saip-dpal-synthetic'

#: the folders each subset writes under the output root
SUBSET_DIRS = dict(
    lup=('LUPerson', 'LUPerson-lmdb', 'canvas'),
    coco=('coco', ),
    lip=('LIP', ),
    market=('Market-1501', ),
    pa100k=('PA-100K', ))


def check_ours(path):
    """Refuse (one line) a folder ``path`` that is neither absent, empty,
    nor written by the generator (its :data:`MARKER`): it may be a real
    dataset."""
    if osp.isdir(path) and os.listdir(path) and not osp.isfile(
            osp.join(path, MARKER)):
        from ...utils.errors import InputDataError
        raise InputDataError(
            f'{path} exists and was not written by the synthetic generator '
            f'(no {MARKER} in it); nothing was deleted: choose another '
            'output folder')
    if osp.exists(path) and not osp.isdir(path):
        from ...utils.errors import InputDataError
        raise InputDataError(f'{path} exists and is not a folder')


def fresh_dir(path):
    """Empty directory ``path``, which a previous run wrote
    (:func:`check_ours`), and mark it as the generator's."""
    check_ours(path)
    if osp.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    open(osp.join(path, MARKER), 'w').close()
    return path


def write_jpg(path, img):
    """Write (H, W, 3) uint8 BGR ``img`` as a JPEG of fixed quality."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY,
                                         JPEG_QUALITY])
    if not ok:
        raise IOError(f'could not encode {path}')
    with open(path, 'wb') as f:
        f.write(buf.tobytes())


def write_png(path, label):
    """Write an (H, W) uint8 label map as a single-channel PNG."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    ok, buf = cv2.imencode('.png', np.ascontiguousarray(label, np.uint8))
    if not ok:
        raise IOError(f'could not encode {path}')
    with open(path, 'wb') as f:
        f.write(buf.tobytes())


def write_json(path, obj):
    """Write ``obj`` as JSON with sorted keys (byte-deterministic)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f, sort_keys=True, separators=(',', ':'))


def write_mat(path, mdict):
    """``scipy.io.savemat`` with the creation time in the header replaced
    by a fixed text, so the same data give the same bytes."""
    from scipy.io import savemat
    buf = io.BytesIO()
    savemat(buf, mdict, format='5')
    data = bytearray(buf.getvalue())
    text = b'MATLAB 5.0 MAT-file, written by saip-dpal synthetic humans'
    data[:116] = text.ljust(116, b' ')
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(bytes(data))
