"""Multi-person scenes in COCO person-keypoints format.

Layout::

    coco/annotations/person_keypoints_{train,val}2017.json
    coco/{train,val}2017/{image_id:012d}.jpg

Per person: ``bbox`` [x, y, w, h] is the tight box of the whole silhouette
(visible and occluded, bags excluded) clipped to the image, ``area`` the
visible pixel count, ``segmentation`` polygons of the visible mask,
``keypoints`` 17 x (x, y, v) with v=2 visible, v=1 inside the image but
covered (by another person, a bag or the person's own body), v=0 outside
the image (then x = y = 0). People showing fewer than
:data:`MIN_VISIBLE_AREA` pixels are not annotated.
"""
import os.path as osp

import cv2
import numpy as np

from .common import backgrounds, fresh_dir, item_rng, scaled, write_jpg, \
    write_json
from .scene import compose_scene
from .skeleton import COCO_SKELETON, KEYPOINT_NAMES

NUM_IMAGES = dict(train=48, val=24)
MIN_VISIBLE_AREA = 64
#: image ids: ``split offset + index + 1``; annotation ids: image id * 100 + k
ID_OFFSET = dict(train=0, val=1000000)

CATEGORIES = [
    dict(id=1, name='person', supercategory='person',
         keypoints=list(KEYPOINT_NAMES),
         skeleton=[list(p) for p in COCO_SKELETON])
]


def mask_polygons(mask):
    """COCO polygons ([x0, y0, x1, y1, ...] lists, >= 3 points each) of
    the outer contours of an (H, W) bool mask."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1).astype(float).tolist() for c in contours
            if len(c) >= 3]


def person_annotation(scene, i, image_id, ann_id):
    """The COCO annotation dict of person ``i`` of ``scene``, or None when
    too little of it shows."""
    person = scene.people[i]
    mask = scene.visible_mask(i)
    area = int(mask.sum())
    polys = mask_polygons(mask)
    if (area < MIN_VISIBLE_AREA or not polys
            or person.rendered.amodal_box is None):
        return None
    x0, y0, x1, y1 = person.rendered.amodal_box
    kps = []
    for (x, y), v in zip(person.rendered.keypoints, person.visibility):
        kps += [round(float(x), 2), round(float(y), 2), int(v)] if v else [
            0, 0, 0]
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=1,
        bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
        area=float(area),
        iscrowd=0,
        num_keypoints=int((person.visibility > 0).sum()),
        keypoints=kps,
        segmentation=polys)


def coco_scene(seed, split, index):
    """The :class:`Scene` of image ``index`` of ``split`` ('train'/'val')."""
    rng = item_rng(seed, f'coco_{split}', index)
    h = int(rng.integers(240, 401))
    w = int(rng.integers(320, 481))
    people = int(rng.integers(1, 5))
    return compose_scene(rng, backgrounds().sample(rng, h, w), people)


def write_coco(out_dir, seed=0, scale=1.0):
    """Write ``coco/`` under ``out_dir``.

    Returns:
        dict: per split the image / annotation counts, and the paths.
    """
    root = osp.join(out_dir, 'coco')
    fresh_dir(root)
    summary = dict(path=root)
    for split, base in NUM_IMAGES.items():
        img_dir = osp.join(root, f'{split}2017')
        images, anns = [], []
        for i in range(scaled(base, scale)):
            scene = coco_scene(seed, split, i)
            h, w = scene.image.shape[:2]
            image_id = ID_OFFSET[split] + i + 1
            file_name = f'{image_id:012d}.jpg'
            write_jpg(osp.join(img_dir, file_name), scene.image)
            images.append(dict(id=image_id, file_name=file_name, height=h,
                               width=w))
            for k in range(len(scene.people)):
                ann = person_annotation(scene, k, image_id,
                                        image_id * 100 + k + 1)
                if ann is not None:
                    anns.append(ann)
        ann_file = osp.join(root, 'annotations',
                            f'person_keypoints_{split}2017.json')
        write_json(ann_file, dict(
            info=dict(description='saip-dpal synthetic humans', version='1.0',
                      year=2017),
            licenses=[],
            images=images,
            annotations=anns,
            categories=CATEGORIES))
        summary[split] = dict(images=len(images), annotations=len(anns),
                              ann_file=ann_file)
    return summary
