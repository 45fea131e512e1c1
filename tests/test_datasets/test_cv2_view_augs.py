"""The OpenCV view augmentations draw what mmpretrain's Pillow transforms
draw and give nearly the same pixels (the bounds of docs/fidelity.md, item
13); the crowd paste blends only its boxes and leaves the decoded image
alone."""
import glob
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest

from mmpretrain.registry import TRANSFORMS
from projects.saip_dpal.datasets.transforms import cv2_view_augs as cv2_augs
from projects.saip_dpal.datasets.transforms import paste

JITTER = dict(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
BLUR = dict(magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=1.0)
GRAY = dict(prob=1.0, keep_channels=True,
            channel_weights=(0.114, 0.587, 0.2989))
CROP = dict(aspect_ratio_range=(0.4, 0.6), interpolation='bicubic')


@pytest.fixture(scope='module')
def images(synthetic_root):
    """Person crops and photo canvases of the synthetic set, BGR uint8."""
    files = sorted(glob.glob(osp.join(
        str(synthetic_root), 'LUPerson', '**', '*.jpg'), recursive=True))
    files = files[:16] + sorted(glob.glob(osp.join(
        str(synthetic_root), 'canvas', '**', '*.jpg'), recursive=True))[:8]
    return [cv2.imread(f) for f in files]


def _both(pillow_cfg, cv2_cfg, images, resize_to=None):
    """Pixel differences of the two transforms from the same seeds; also
    checks that both left numpy's RNG in the same state."""
    pil_t, cv2_t = TRANSFORMS.build(pillow_cfg), TRANSFORMS.build(cv2_cfg)
    diffs = []
    for seed, img in enumerate(images * 2):
        if resize_to:
            img = cv2.resize(img, resize_to[::-1],
                             interpolation=cv2.INTER_AREA)
        np.random.seed(seed)
        a = pil_t(dict(img=img.copy()))['img']
        state = np.random.get_state()[1].copy()
        np.random.seed(seed)
        b = cv2_t(dict(img=img.copy()))['img']
        np.testing.assert_array_equal(np.random.get_state()[1], state)
        assert a.shape == b.shape and b.dtype == np.uint8
        diffs.append(np.abs(a.astype(int) - b.astype(int)).ravel())
    return np.concatenate(diffs)


def test_brightness_and_contrast_are_pillows_exactly(images):
    for img in images:
        for factor in (0.6, 0.93, 1.4):
            np.testing.assert_array_equal(
                cv2_augs.adjust_brightness(img, factor),
                mmcv.adjust_brightness(img, factor, backend='pillow'))
            np.testing.assert_array_equal(
                cv2_augs.adjust_contrast(img, factor),
                mmcv.adjust_contrast(img, factor, backend='pillow'))


def test_color_jitter_same_draws_close_pixels(images):
    d = _both(dict(type='ColorJitter', **JITTER),
              dict(type='CV2ColorJitter', **JITTER), images, (128, 96))
    # the hue rotation converts to HSV as OpenCV does, not as Pillow
    assert d.mean() < 1.5 and np.percentile(d, 99) <= 8, d.mean()
    assert d.mean() > 0  # the check compares two different code paths


def test_grayscale_and_blur_close_to_pillow(images):
    d = _both(dict(type='RandomGrayscale', **GRAY),
              dict(type='CV2RandomGrayscale', **GRAY), images, (128, 96))
    assert d.max() <= 1  # rounded, where mmcv truncates
    with pytest.raises(ValueError, match='ITU-R 601'):
        TRANSFORMS.build(dict(GRAY, type='CV2RandomGrayscale',
                              channel_weights=(1., 1., 1.)))
    assert TRANSFORMS.build(dict(type='CV2RandomGrayscale')).prob == 0.1
    d = _both(dict(type='GaussianBlur', **BLUR),
              dict(type='CV2GaussianBlur', **BLUR), images, (128, 96))
    assert d.mean() < 0.6 and np.percentile(d, 99) <= 3, d.mean()


@pytest.mark.parametrize('scale,area', [((128, 96), (0.05, 0.8)),
                                        ((64, 32), (0.8, 1.0))])
def test_crop_same_box_close_resize(images, scale, area):
    """Enlarging (small local crops) and shrinking (the whole image to a
    small view) both stay within about a grey level of Pillow's bicubic."""
    d = _both(dict(type='RandomResizedCrop', scale=scale,
                   crop_ratio_range=area, backend='pillow', **CROP),
              dict(type='CV2RandomResizedCrop', scale=scale,
                   crop_ratio_range=area, **CROP), images)
    assert d.mean() < 1.5 and np.percentile(d, 99) <= 10, d.mean()


def test_crop_refuses_a_resize_it_would_not_do():
    crop = dict(type='CV2RandomResizedCrop', scale=(64, 32))
    assert TRANSFORMS.build(crop).interpolation == 'bicubic'
    for wrong in (dict(interpolation='bilinear'), dict(backend='pillow')):
        with pytest.raises(ValueError, match='use RandomResizedCrop'):
            TRANSFORMS.build(dict(crop, **wrong))


def test_paste_blends_only_the_boxes():
    rng = np.random.RandomState(0)
    canvas = rng.randint(0, 256, (40, 60, 3)).astype(np.uint8)
    patches = [rng.randint(0, 256, (10, 20, 3)).astype(np.uint8)
               for _ in range(2)]
    boxes = np.array([[0, 5, 20, 15], [30, 20, 50, 30]])
    before = canvas.copy()
    out = paste(canvas, patches, boxes, 0.7)
    np.testing.assert_array_equal(canvas, before)  # a new canvas
    want = canvas.astype(np.float64)
    for p, (x1, y1, x2, y2) in zip(patches, boxes):
        want[y1:y2, x1:x2] = 0.7 * p + 0.3 * want[y1:y2, x1:x2]
    assert np.abs(out - np.round(want)).max() <= 1
    outside = np.ones((40, 60), bool)
    for x1, y1, x2, y2 in boxes:
        outside[y1:y2, x1:x2] = False
    np.testing.assert_array_equal(out[outside], canvas[outside])


def test_views_leave_the_decoded_image_as_it_was(synthetic_root, images):
    from conftest import CONFIG_DIR
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')  # the views' pipelines build from it
    cfg = Config.fromfile(osp.join(CONFIG_DIR, '_base_/datasets/'
                                   'lup1m_saip.py'))
    views = dict(cfg.views, canvas_root=osp.join(str(synthetic_root),
                                                 'canvas'))
    transform = TRANSFORMS.build(views)
    img = images[0].copy()
    out = transform(dict(img=img))
    np.testing.assert_array_equal(img, images[0])
    views = out['img']
    assert len(views['locals']) == 6
    flat = [*views.pop('locals'), *views.values()]
    assert len(flat) == 11 and all(v.dtype == np.uint8 for v in flat)
