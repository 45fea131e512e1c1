"""PA-100K-style pedestrian attribute crops.

Layout::

    PA-100K/data/{n:06d}.jpg      crops, numbered across train, val, test
    PA-100K/annotation.mat        attributes (A, 1) cell of names,
                                  {train,val,test}_images_name (N, 1) cells,
                                  {train,val,test}_label (N, A) uint8 0/1

The attributes are PA-100K's names for what the generator draws (in
PA-100K's order) followed by ``UpperColor-<c>`` / ``LowerColor-<c>``
one-hot colour attributes. Labels describe the drawn image (a logo is only
drawn on the front, so ``UpperLogo`` is 0 on back views).
"""
import os.path as osp

import numpy as np

from .common import backgrounds, crop_size, fresh_dir, item_rng, scaled, \
    write_jpg, write_mat
from .identity import CLOTH_COLORS
from .scene import person_crop

NUM_IMAGES = dict(train=120, val=40, test=40)
PA100K_ATTRIBUTES = ('Front', 'Back', 'Hat', 'HandBag', 'ShoulderBag',
                     'Backpack', 'ShortSleeve', 'LongSleeve', 'UpperStride',
                     'UpperLogo', 'UpperPlaid', 'Trousers', 'Shorts',
                     'Skirt&Dress')
ATTRIBUTES = PA100K_ATTRIBUTES + tuple(
    f'UpperColor-{c}' for c in CLOTH_COLORS) + tuple(
        f'LowerColor-{c}' for c in CLOTH_COLORS)


def attribute_labels(identity, drawn):
    """(A,) uint8 labels of :data:`ATTRIBUTES` for a person rendered with
    ``drawn`` (:attr:`RenderedPerson.drawn`)."""
    on = {
        'Front': drawn['facing'] == 'front',
        'Back': drawn['facing'] == 'back',
        'Hat': identity.hat,
        'HandBag': identity.bag == 'handbag',
        'ShoulderBag': identity.bag == 'shoulder',
        'Backpack': identity.bag == 'backpack',
        'ShortSleeve': identity.sleeve == 'short',
        'LongSleeve': identity.sleeve == 'long',
        'UpperStride': identity.upper_pattern == 'stripes',
        'UpperLogo': bool(drawn['logo']),
        'UpperPlaid': identity.upper_pattern == 'plaid',
        'Trousers': identity.lower_type == 'trousers',
        'Shorts': identity.lower_type == 'shorts',
        'Skirt&Dress': identity.lower_type == 'skirt',
        f'UpperColor-{identity.upper_color}': True,
        f'LowerColor-{identity.lower_color}': True,
    }
    return np.array([on.get(a, False) for a in ATTRIBUTES], np.uint8)


def _cell(strings):
    """(N, 1) object array: a MATLAB cell column of strings."""
    out = np.empty((len(strings), 1), dtype=object)
    for i, s in enumerate(strings):
        out[i, 0] = s
    return out


def write_pa100k(out_dir, seed=0, scale=1.0):
    """Write ``PA-100K/`` under ``out_dir``.

    Returns:
        dict: per split the image count, the attribute count and the path.
    """
    root = fresh_dir(osp.join(out_dir, 'PA-100K'))
    bg = backgrounds()
    mdict = dict(attributes=_cell(ATTRIBUTES))
    summary = dict(path=root, attributes=len(ATTRIBUTES))
    number = 0
    for split, base in NUM_IMAGES.items():
        names, labels = [], []
        for i in range(scaled(base, scale)):
            rng = item_rng(seed, f'pa100k_{split}', i)
            h, w = crop_size(rng, 180, (0.38, 0.55), jitter=0.35)
            scene = person_crop(rng, bg.sample(rng, h, w), fill=(0.82, 0.97),
                                bystander_prob=0.1)
            person = scene.people[-1]
            number += 1
            name = f'{number:06d}.jpg'
            write_jpg(osp.join(root, 'data', name), scene.image)
            names.append(name)
            labels.append(attribute_labels(person.identity,
                                           person.rendered.drawn))
        mdict[f'{split}_images_name'] = _cell(names)
        mdict[f'{split}_label'] = np.array(labels, np.uint8).reshape(
            len(names), len(ATTRIBUTES))
        summary[split] = len(names)
    write_mat(osp.join(root, 'annotation.mat'), mdict)
    return summary
