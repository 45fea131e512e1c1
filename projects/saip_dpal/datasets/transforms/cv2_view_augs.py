"""OpenCV versions of the view augmentations' Pillow transforms.

Each class subclasses the mmpretrain / mmcv transform of the same name
without the ``CV2`` prefix, takes the same arguments and draws the same
random numbers in the same order (so one seed gives the same crop boxes,
factors and coin flips), but works on the uint8 BGR array with OpenCV and
lookup tables instead of converting to a Pillow image and back for every
operation. Where the pixel arithmetic differs from Pillow's, the difference
is measured in docs/fidelity.md; ``tests/test_datasets/
test_cv2_view_augs.py`` holds it to those bounds.
"""
from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import RandomGrayscale

from mmpretrain.datasets.transforms import (ColorJitter, GaussianBlur,
                                            RandomResizedCrop)
from mmpretrain.registry import TRANSFORMS

_LEVELS = np.arange(256, dtype=np.float32)


def blend_lut(base: int, factor: float) -> np.ndarray:
    """(256,) uint8 table of Pillow's ``Image.blend`` of a solid ``base``
    level with each level v: ``base + factor * (v - base)`` in float32,
    clipped and truncated, as Pillow computes it. Brightness blends with
    black (``base=0``), contrast with the image's mean grey."""
    base = np.float32(base)
    out = base + np.float32(factor) * (_LEVELS - base)
    return np.clip(out, 0, 255).astype(np.uint8)


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    return cv2.LUT(img, blend_lut(0, factor))


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the image's mean grey level (rounded, as Pillow)."""
    mean = int(cv2.mean(_gray(img))[0] + 0.5)
    return cv2.LUT(img, blend_lut(mean, factor))


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the image's grey version."""
    gray = cv2.cvtColor(_gray(img), cv2.COLOR_GRAY2BGR)
    return cv2.addWeighted(img, factor, gray, 1. - factor, 0.)


def adjust_hue(img: np.ndarray, factor: float) -> np.ndarray:
    """Rotate the 8-bit hue (full 0..255 circle, as Pillow's HSV) by
    ``factor * 255`` steps."""
    h, s, v = cv2.split(cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL))
    shift = int(factor * 255)  # truncated towards 0, as numpy's uint8()
    h = cv2.LUT(h, ((np.arange(256) + shift) % 256).astype(np.uint8))
    return cv2.cvtColor(cv2.merge([h, s, v]), cv2.COLOR_HSV2BGR_FULL)


@TRANSFORMS.register_module()
class CV2ColorJitter(ColorJitter):
    """mmpretrain's ``ColorJitter`` (random order of brightness, contrast,
    saturation and hue) on uint8 BGR with OpenCV; brightness and contrast
    are exactly Pillow's."""

    def transform(self, results: dict) -> dict:
        img = results['img']
        order, *factors = self._rand_params()
        ops = (adjust_brightness, adjust_contrast, adjust_saturation,
               adjust_hue)
        for index in order:
            if factors[index] is not None:
                img = ops[index](img, factors[index])
        results['img'] = img
        return results


@TRANSFORMS.register_module()
class CV2RandomGrayscale(RandomGrayscale):
    """mmcv's ``RandomGrayscale`` for 3-channel BGR input with the ITU-R
    601 weights (0.114, 0.587, 0.299 on B, G, R), rounded instead of
    truncated; other ``channel_weights`` are refused."""

    def __init__(self,
                 prob: float = 0.1,
                 keep_channels: bool = False,
                 channel_weights: Tuple[float, ...] = (0.114, 0.587, 0.299),
                 color_format: str = 'bgr') -> None:
        if color_format != 'bgr':
            raise ValueError('CV2RandomGrayscale takes BGR images')
        super().__init__(prob, keep_channels, channel_weights, color_format)
        weights = np.asarray(self.channel_weights, dtype=np.float64)
        if weights.shape != (3, ) or not np.allclose(
                weights / weights.sum(), (0.114, 0.587, 0.299), atol=2e-3):
            raise ValueError('CV2RandomGrayscale computes the ITU-R 601 '
                             'grey (B, G, R weights 0.114, 0.587, 0.299), '
                             f'not channel_weights={self.channel_weights}; '
                             'use RandomGrayscale for other weights')

    def transform(self, results: dict) -> dict:
        if self._random_prob() < self.prob:
            gray = _gray(results['img'])
            results['img'] = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR) \
                if self.keep_channels else gray
        return results


@TRANSFORMS.register_module()
class CV2GaussianBlur(GaussianBlur):
    """mmpretrain's ``GaussianBlur`` (radius = the Gaussian's standard
    deviation) as a true Gaussian over +/- 3 sigma with replicated edges,
    where Pillow approximates it with box blurs."""

    def transform(self, results: dict) -> dict:
        if self.random_disable():
            return results
        sigma = self.radius if self.radius is not None \
            else self.random_magnitude()
        results['img'] = cv2.GaussianBlur(
            results['img'], (0, 0), sigmaX=sigma,
            borderType=cv2.BORDER_REPLICATE)
        return results


@TRANSFORMS.register_module()
class CV2RandomResizedCrop(RandomResizedCrop):
    """mmpretrain's ``RandomResizedCrop`` that resizes the crop (a view,
    not a copy) with OpenCV: bicubic when it is enlarged along both axes,
    area averaging when it shrinks along either (Pillow's bicubic filter
    widens when shrinking, OpenCV's does not). Other ``interpolation`` or
    ``backend`` values are refused (``RandomResizedCrop`` takes them)."""

    def __init__(self, *args, interpolation: str = 'bicubic',
                 backend: str = 'cv2', **kwargs) -> None:
        if interpolation != 'bicubic' or backend != 'cv2':
            raise ValueError(
                'CV2RandomResizedCrop resizes with OpenCV, bicubic (area '
                f'averaging to shrink); got interpolation={interpolation!r}, '
                f'backend={backend!r}: use RandomResizedCrop for those')
        super().__init__(
            *args, interpolation=interpolation, backend=backend, **kwargs)

    def transform(self, results: dict) -> dict:
        img = results['img']
        y, x, h, w = self.rand_crop_params(img)
        out_h, out_w = self.scale
        results['img'] = resize(img[y:y + h, x:x + w], (out_h, out_w))
        results['img_shape'] = results['img'].shape
        return results


def resize(img: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``img`` resized to ``size`` (h, w): bicubic to enlarge, area
    averaging to shrink."""
    h, w = img.shape[:2]
    shrink = h > size[0] or w > size[1]
    return cv2.resize(
        img, (size[1], size[0]),
        interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
