"""Camera backgrounds: procedural textures and scikit-image's bundled photos.

All backgrounds are (H, W, 3) uint8 BGR. Photos are the natural images that
ship inside the scikit-image wheel (no download); without scikit-image only
the procedural families are used.
"""
import functools
import os.path as osp

import cv2
import numpy as np

PROCEDURAL = ('noise', 'stripes', 'checker', 'blobs', 'street')
#: scikit-image sample images without people that may ship in the wheel
PHOTO_CANDIDATES = ('brick', 'grass', 'gravel', 'coffee', 'rocket', 'chelsea',
                    'coins', 'moon', 'page', 'text', 'clock',
                    'hubble_deep_field', 'immunohistochemistry', 'horse',
                    'logo', 'colorwheel', 'motorcycle_left', 'retina',
                    'microaneurysms', 'cell')


def _local_skimage_file(name):
    """True when ``skimage.data.<name>()`` reads a file inside the wheel,
    i.e. it works offline."""
    try:
        import skimage.data as skd
        from skimage.data import _fetchers
    except ImportError:
        return False
    func = getattr(skd, name, None)
    if func is None:
        return False
    legacy = getattr(_fetchers, '_LEGACY_DATA_DIR', osp.dirname(skd.__file__))
    registry = getattr(getattr(_fetchers, '_registry', None), 'registry', {})
    files = [k for k in registry if osp.splitext(osp.basename(k))[0] == name]
    files += [k for k in registry
              if osp.splitext(osp.basename(k))[0].startswith(name + '_')]
    return any(osp.exists(osp.join(legacy, osp.basename(f))) for f in files)


@functools.lru_cache(maxsize=None)
def load_photo(name):
    """BGR uint8 version of ``skimage.data.<name>()``, or None when it is
    not available offline."""
    if not _local_skimage_file(name):
        return None
    import skimage.data as skd
    try:
        img = np.asarray(getattr(skd, name)())
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return None
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    elif img.dtype != np.uint8:
        img = img.astype(np.float64)
        lo, hi = img.min(), img.max()
        img = ((img - lo) / max(hi - lo, 1e-9) * 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.ndim != 3 or img.shape[2] < 3:
        return None
    img = np.ascontiguousarray(img[:, :, 2::-1])  # RGB(A) -> BGR
    if min(img.shape[:2]) < 64:
        return None
    return img


@functools.lru_cache(maxsize=None)
def available_photos():
    """Names of the scikit-image photos that load offline (sorted)."""
    return tuple(sorted(n for n in PHOTO_CANDIDATES
                        if load_photo(n) is not None))


def _color(rng, lo=30, hi=225):
    return rng.integers(lo, hi, 3).astype(np.float32)


def _grid(h, w):
    return np.mgrid[0:h, 0:w].astype(np.float32)


def _noise(rng, h, w):
    cells = int(rng.integers(2, 9))
    low = rng.uniform(0, 1, (cells, cells, 3)).astype(np.float32)
    img = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    a, b = _color(rng), _color(rng)
    yy, xx = _grid(h, w)
    ang = rng.uniform(0, 2 * np.pi)
    g = (np.cos(ang) * xx / w + np.sin(ang) * yy / h)[..., None]
    g = (g - g.min()) / max(float(np.ptp(g)), 1e-6)
    out = a * (1 - g) + b * g
    return out * (0.6 + 0.8 * img)


def _stripes(rng, h, w):
    yy, xx = _grid(h, w)
    ang = rng.uniform(0, np.pi)
    period = rng.uniform(6, 48)
    t = (np.cos(ang) * xx + np.sin(ang) * yy) / period
    soft = rng.uniform(0.05, 0.5)
    m = np.clip((np.sin(2 * np.pi * t) + soft) / (2 * soft), 0, 1)[..., None]
    return _color(rng) * m + _color(rng) * (1 - m)


def _checker(rng, h, w):
    yy, xx = _grid(h, w)
    ang = rng.uniform(-0.5, 0.5)
    cell = rng.uniform(8, 60)
    u = (np.cos(ang) * xx - np.sin(ang) * yy) / cell
    v = (np.sin(ang) * xx + np.cos(ang) * yy) / cell
    m = ((np.floor(u) + np.floor(v)) % 2)[..., None]
    return _color(rng) * m + _color(rng) * (1 - m)


def _blobs(rng, h, w):
    img = np.empty((h, w, 3), np.float32)
    img[:] = _color(rng)
    for _ in range(int(rng.integers(5, 16))):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(5, max(6, w // 3))),
                int(rng.integers(5, max(6, h // 3))))
        cv2.ellipse(img, c, axes, float(rng.uniform(0, 180)), 0, 360,
                    tuple(float(x) for x in _color(rng)), -1)
    k = int(rng.integers(1, 6)) * 2 + 1
    return cv2.GaussianBlur(img, (k, k), 0)


def _street(rng, h, w):
    """A wall over a floor, with a horizon and a few vertical edges."""
    horizon = int(h * rng.uniform(0.35, 0.75))
    img = np.empty((h, w, 3), np.float32)
    img[:horizon] = _color(rng)
    yy = np.linspace(0.7, 1.15, h - horizon, dtype=np.float32)[:, None, None]
    img[horizon:] = _color(rng) * yy
    for _ in range(int(rng.integers(0, 5))):
        x = int(rng.integers(0, w))
        cv2.rectangle(img, (x, 0), (x + int(rng.integers(2, max(3, w // 5))),
                                    horizon), tuple(
                                        float(v) for v in _color(rng)), -1)
    return img


_PROCEDURAL_FN = dict(noise=_noise, stripes=_stripes, checker=_checker,
                      blobs=_blobs, street=_street)


def _photo_crop(rng, photo, h, w):
    ph, pw = photo.shape[:2]
    aspect = w / h
    frac = rng.uniform(0.35, 1.0)
    ch = int(min(ph, pw / aspect) * frac)
    cw = max(8, int(round(ch * aspect)))
    ch = max(8, min(ch, ph))
    cw = min(cw, pw)
    y = int(rng.integers(0, ph - ch + 1))
    x = int(rng.integers(0, pw - cw + 1))
    crop = photo[y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    out = cv2.resize(np.ascontiguousarray(crop), (w, h),
                     interpolation=cv2.INTER_LINEAR).astype(np.float32)
    if np.ptp(photo[::8, ::8].reshape(-1, 3).mean(0)) < 3:  # grey: tint
        out *= rng.uniform(0.75, 1.15, 3).astype(np.float32)
    return out


class BackgroundSampler:
    """Random (H, W, 3) uint8 BGR backgrounds from :attr:`families`.

    Args:
        use_photos (bool): include scikit-image photos (``'photo:<name>'``
            families) when they load offline.
    """

    def __init__(self, use_photos=True):
        photos = available_photos() if use_photos else ()
        self.families = PROCEDURAL + tuple(f'photo:{n}' for n in photos)

    def sample(self, rng, height, width, family=None):
        """A background of ``family`` (random when None)."""
        if family is None:
            family = self.families[int(rng.integers(len(self.families)))]
        if family.startswith('photo:'):
            photo = load_photo(family[6:])
            if photo is None:
                raise KeyError(f'photo {family!r} is not available')
            img = _photo_crop(rng, photo, height, width)
        else:
            img = _PROCEDURAL_FN[family](rng, height, width)
        return np.clip(img, 0, 255).astype(np.uint8)
