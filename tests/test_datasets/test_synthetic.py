"""The synthetic human generator: determinism, and every format read by the
real OpenMMLab loaders / the formats' own conventions."""
import glob
import hashlib
import itertools
import json
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest

from projects.saip_dpal.datasets.synthetic import (
    KEYPOINT_NAMES, LIP_CLASSES, SUBSETS, attribute_distance,
    generate_synthetic_humans, sample_identities)

MARKET_RE = re.compile(r'([-\d]+)_c(\d)s(\d)_(\d{6})_(\d{2})')
SMALL = 0.25


@pytest.fixture(scope='module')
def full(tmp_path_factory):
    """Everything at the default scale, generated once."""
    root = tmp_path_factory.mktemp('synthetic_full')
    summary = generate_synthetic_humans(str(root), seed=0, scale=1.0)
    return root, summary


def _hashes(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            path = osp.join(dirpath, f)
            with open(path, 'rb') as fh:
                out[osp.relpath(path, root)] = hashlib.sha256(
                    fh.read()).hexdigest()
    return out


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    a = generate_synthetic_humans(str(tmp_path / 'a'), seed=3, scale=SMALL)
    generate_synthetic_humans(str(tmp_path / 'b'), seed=3, scale=SMALL)
    generate_synthetic_humans(str(tmp_path / 'c'), seed=4, scale=SMALL)
    ha, hb, hc = (_hashes(tmp_path / n) for n in 'abc')
    assert len(ha) > 100
    assert ha == hb
    assert set(SUBSETS) <= set(a)
    lup = [k for k in ha if k.startswith('LUPerson') and
           not k.endswith('.saip-dpal-synthetic')]  # the empty marker
    assert lup and all(k in hc for k in lup)
    assert sum(ha[k] != hc[k] for k in lup) == len(lup)
    coco = 'coco/annotations/person_keypoints_train2017.json'
    assert ha[coco] != hc[coco]


def test_subsets_and_scale(tmp_path):
    s = generate_synthetic_humans(
        str(tmp_path), seed=0, scale=0.1, subsets=['lip', 'pa100k'])
    assert sorted(os.listdir(tmp_path)) == ['LIP', 'PA-100K']
    assert s['lip']['train'] == 5 and s['lip']['val'] == 2
    assert (s['pa100k']['train'], s['pa100k']['val'],
            s['pa100k']['test']) == (12, 4, 4)
    with pytest.raises(ValueError, match='unknown subsets'):
        generate_synthetic_humans(str(tmp_path), subsets=['imagenet'])


def test_identities_differ_in_two_attributes():
    ids = sample_identities(0, 60)
    for a, b in itertools.combinations(ids, 2):
        assert attribute_distance(a, b) >= 2
    assert sample_identities(0, 10) == ids[:10]  # prefix-stable
    assert sample_identities(1, 10) != ids[:10]
    import dataclasses
    b = dataclasses.replace(ids[0], hat=not ids[0].hat)
    assert attribute_distance(ids[0], b) == 1


def test_lup_folder(full):
    root, summary = full
    files = sorted(glob.glob(str(root / 'LUPerson' / '**' / '*.jpg'),
                             recursive=True))
    assert len(files) == summary['lup']['crops'] == 200
    assert all(len(osp.relpath(f, root / 'LUPerson').split(os.sep)) == 3
               for f in files)
    assert len({osp.dirname(f) for f in files}) > 10
    for f in files[::7]:
        img = cv2.imread(f)
        assert img is not None and img.ndim == 3
        assert 180 <= img.shape[0] <= 330
        assert 0.4 <= img.shape[1] / img.shape[0] <= 0.62
    canvases = sorted(glob.glob(str(root / 'canvas' / '*.jpg')))
    assert len(canvases) == summary['lup']['canvases'] == 32
    for f in canvases:
        h, w = cv2.imread(f).shape[:2]
        assert 240 <= h <= 480 and 240 <= w <= 480

    # read by the project's LUPersonDataset
    import projects.saip_dpal  # noqa: F401
    from mmpretrain.registry import DATASETS
    ds = DATASETS.build(
        dict(type='LUPersonDataset', data_root=str(root),
             data_prefix='LUPerson', pipeline=[]))
    assert len(ds) == 200


# ------------------------------------------------------------------ COCO

def _coco_metainfo():
    import mmpose
    path = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs',
                    '_base_', 'datasets', 'coco.py')
    assert osp.isfile(path), path
    return dict(from_file=path)


def _coco_json(root, split):
    with open(root / 'coco' / 'annotations' /
              f'person_keypoints_{split}2017.json') as f:
        return json.load(f)


def _coco_dataset(root, split, **kwargs):
    from mmpose.datasets import CocoDataset
    return CocoDataset(
        data_root=str(root / 'coco'),
        ann_file=f'annotations/person_keypoints_{split}2017.json',
        data_prefix=dict(img=f'{split}2017/'),
        metainfo=_coco_metainfo(),
        pipeline=[],
        **kwargs)


def test_coco_annotations(full):
    root, summary = full
    for split in ('train', 'val'):
        data = _coco_json(root, split)
        assert len(data['images']) == summary['coco'][split]['images']
        assert len(data['annotations']) == summary['coco'][split][
            'annotations']
        cat = data['categories'][0]
        assert cat['id'] == 1 and cat['name'] == 'person'
        assert cat['keypoints'] == list(KEYPOINT_NAMES)
        assert len(cat['skeleton']) == 19
        images = {im['id']: im for im in data['images']}
        vis, inside = [], []
        for ann in data['annotations']:
            im = images[ann['image_id']]
            img = cv2.imread(str(root / 'coco' / f'{split}2017' /
                                 im['file_name']))
            assert img.shape == (im['height'], im['width'], 3)
            x, y, w, h = ann['bbox']
            assert x >= 0 and y >= 0 and w > 0 and h > 0
            assert x + w <= im['width'] and y + h <= im['height']
            assert 0 < ann['area'] <= w * h
            assert ann['iscrowd'] == 0 and ann['category_id'] == 1
            kps = np.array(ann['keypoints'], float).reshape(17, 3)
            assert ann['num_keypoints'] == int((kps[:, 2] > 0).sum())
            assert (kps[kps[:, 2] == 0, :2] == 0).all()
            lab = kps[kps[:, 2] > 0]
            assert (lab[:, 0] >= 0).all() and (lab[:, 0] < im['width']).all()
            assert (lab[:, 1] >= 0).all() and (lab[:, 1] < im['height']).all()
            assert all(len(p) >= 6 and len(p) % 2 == 0
                       for p in ann['segmentation'])
            from pycocotools import mask as mask_utils
            rles = mask_utils.frPyObjects(ann['segmentation'], im['height'],
                                          im['width'])
            m = mask_utils.decode(mask_utils.merge(rles))
            assert abs(int(m.sum()) - ann['area']) < 0.5 * ann['area'] + 50
            v2 = kps[kps[:, 2] == 2]
            inside += [
                m[min(int(round(py)), im['height'] - 1),
                  min(int(round(px)), im['width'] - 1)] for px, py, _ in v2
            ]
            vis.append(kps[:, 2])
        vis = np.concatenate(vis)
        # visible keypoints lie in the person's visible mask (a joint on the
        # outline may round to a pixel just outside it)
        assert np.mean(inside) >= 0.95, np.mean(inside)
        assert (vis == 2).mean() > 0.5
        assert (vis == 1).sum() > 0  # occluded keypoints exist
    vis_all = np.concatenate([
        np.array(a['keypoints']).reshape(17, 3)[:, 2]
        for s in ('train', 'val') for a in _coco_json(root, s)['annotations']
    ])
    assert (vis_all == 0).sum() > 0  # some keypoints fall outside


def test_coco_loads_in_mmpose(full):
    root, _ = full
    for split in ('train', 'val'):
        anns = _coco_json(root, split)['annotations']
        expected = sum(a['num_keypoints'] > 0 for a in anns)
        ds = _coco_dataset(root, split, test_mode=False)
        assert len(ds) == expected > 0
        raw_v = np.concatenate([
            np.reshape(ds.get_data_info(i)['raw_ann_info']['keypoints'],
                       (17, 3))[:, 2] for i in range(len(ds))
        ])
        assert (raw_v == 1).any() and (raw_v == 2).any()
        info = ds.get_data_info(0)
        assert info['keypoints'].shape == (1, 17, 2)
        assert osp.isfile(info['img_path'])
        ds_test = _coco_dataset(root, split, test_mode=True, bbox_file=None)
        assert len(ds_test) == expected


def _predict(ds, noise, rng):
    """Data samples as a top-down model would emit, from the GT."""
    samples = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        kps = info['keypoints'].astype(np.float32).copy()
        wh = info['bbox'][0, 2:] - info['bbox'][0, :2]
        scale = float(np.sqrt(wh.prod()))
        kps += rng.normal(0, noise, kps.shape).astype(np.float32) * scale
        samples.append(dict(
            id=info['id'],
            img_id=info['img_id'],
            category_id=1,
            ori_shape=(info['img_shape'] if 'img_shape' in info else
                       (info['ori_shape'] if 'ori_shape' in info else None)),
            gt_instances=dict(
                bbox_scales=np.array([info['bbox'][0, 2:] -
                                      info['bbox'][0, :2]]) * 1.25,
                bbox_scores=np.ones(1, np.float32)),
            pred_instances=dict(
                keypoints=kps,
                keypoint_scores=np.ones((1, 17), np.float32),
                bbox_scores=np.ones(1, np.float32))))
    return samples


def test_coco_metric_perfect_and_noisy(full):
    from mmpose.evaluation import CocoMetric
    root, _ = full
    ds = _coco_dataset(root, 'val', test_mode=True, bbox_file=None)
    ann_file = str(root / 'coco' / 'annotations' /
                   'person_keypoints_val2017.json')
    results = {}
    for noise in (0.0, 0.08):
        metric = CocoMetric(ann_file=ann_file)
        metric.dataset_meta = ds.metainfo
        samples = _predict(ds, noise, np.random.default_rng(0))
        metric.process([{}] * len(samples), samples)
        results[noise] = metric.evaluate(len(samples))
    assert results[0.0]['coco/AP'] == pytest.approx(1.0)
    assert results[0.08]['coco/AP'] < 0.8


# ------------------------------------------------------------------- LIP
def test_lip_loads_in_mmseg_and_masks_are_valid(full):
    from mmseg.datasets import LIPDataset
    root, summary = full
    assert tuple(LIPDataset.METAINFO['classes']) == LIP_CLASSES
    for split in ('train', 'val'):
        ds = LIPDataset(
            data_root=str(root / 'LIP'),
            data_prefix=dict(img_path=f'{split}_images',
                             seg_map_path=f'{split}_segmentations'),
            pipeline=[])
        assert len(ds) == summary['lip'][split]
        seen = set()
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            img = cv2.imread(info['img_path'])
            seg = cv2.imread(info['seg_map_path'], cv2.IMREAD_UNCHANGED)
            assert seg.dtype == np.uint8 and seg.ndim == 2
            assert seg.shape == img.shape[:2]
            assert seg.max() <= 19
            seen |= set(np.unique(seg).tolist())
        assert {0, 2, 5, 13, 14, 15, 16, 17, 18, 19} <= seen


def _dist_to_segments(points, segments):
    """(N,) distance of (N, 2) points to a polyline (list of (a, b))."""
    best = np.full(len(points), np.inf)
    for a, b in segments:
        d = b - a
        t = np.clip(((points - a) @ d) / max(d @ d, 1e-9), 0, 1)
        best = np.minimum(best, np.hypot(*(points - a - t[:, None] * d).T))
    return best


def test_lip_left_right_follow_the_keypoints(full):
    from projects.saip_dpal.datasets.synthetic.lip_writer import lip_sample
    root, summary = full
    kp = {n: i for i, n in enumerate(KEYPOINT_NAMES)}
    checked = 0
    for i in range(summary['lip']['train']):
        scene = lip_sample(0, 'train', i)
        seg = cv2.imread(str(root / 'LIP' / 'train_segmentations' /
                             f'{i:06d}.png'), cv2.IMREAD_UNCHANGED)
        assert (seg == scene.canvas.seg).all()
        person = scene.people[-1].rendered
        k = person.keypoints
        reach = 0.1 * (person.amodal_box[3] - person.amodal_box[1])
        chains = {}
        for side in ('left', 'right'):
            arm = [k[kp[f'{side}_{j}']]
                   for j in ('shoulder', 'elbow', 'wrist')]
            leg = [k[kp[f'{side}_{j}']] for j in ('hip', 'knee', 'ankle')]
            chains[side, 'arm'] = list(zip(arm[:-1], arm[1:]))
            chains[side, 'leg'] = list(zip(leg[:-1], leg[1:]))
        for part, ids in (('arm', (14, 15)), ('leg', (16, 17))):
            for side, other, cls in (('left', 'right', ids[0]),
                                     ('right', 'left', ids[1])):
                ys, xs = np.nonzero(seg == cls)
                if len(xs) < 20:
                    continue
                pts = np.stack([xs, ys], 1).astype(float)
                own = _dist_to_segments(pts, chains[side, part])
                far = _dist_to_segments(pts, chains[other, part])
                # all on the own limb; mostly nearer it than the other one
                assert np.mean(own < reach) > 0.98, (i, side, part)
                assert np.mean(own <= far) > 0.5, (i, side, part)
                checked += 1
    assert checked >= 20


# ---------------------------------------------------------------- Market
def test_market1501_layout(full):
    root, summary = full
    ids = {}
    for folder in ('bounding_box_train', 'query', 'bounding_box_test'):
        files = sorted(os.listdir(root / 'Market-1501' / folder))
        assert files
        ids[folder] = []
        for f in files:
            m = MARKET_RE.fullmatch(osp.splitext(f)[0])
            assert m, f
            pid, cam = int(m.group(1)), int(m.group(2))
            assert 1 <= cam <= 6
            ids[folder].append((pid, cam))
            img = cv2.imread(str(root / 'Market-1501' / folder / f))
            assert img.shape == (128, 64, 3)
    train = {p for p, _ in ids['bounding_box_train']}
    gallery = ids['bounding_box_test']
    test = {p for p, _ in gallery if p > 0}
    assert len(train) == summary['market']['train_ids'] == 16
    assert len(test) == summary['market']['test_ids'] == 8
    assert not train & test
    assert {p for p, _ in gallery} >= {0, -1}  # distractors and junk
    for pairs in (ids['bounding_box_train'], gallery + ids['query']):
        cams = {}
        for p, c in pairs:
            cams.setdefault(p, set()).add(c)
        assert all(len(c) >= 2 for p, c in cams.items() if p > 0)
    assert {p for p, _ in ids['query']} == test
    for p, c in ids['query']:
        assert any(gp == p and gc != c for gp, gc in gallery)
    assert len(ids['bounding_box_train']) == summary['market']['train']


# --------------------------------------------------------------- PA-100K
def test_pa100k_annotation(full):
    from scipy.io import loadmat
    root, summary = full
    mat = loadmat(str(root / 'PA-100K' / 'annotation.mat'))
    names = [str(a[0][0]) for a in mat['attributes']]
    num_attr = len(names)
    assert num_attr == summary['pa100k']['attributes']
    for a in ('Hat', 'Backpack', 'ShortSleeve', 'LongSleeve', 'UpperLogo',
              'Trousers', 'Skirt&Dress', 'Front', 'Back'):
        assert a in names
    seen = set()
    for split in ('train', 'val', 'test'):
        files = [str(n[0][0]) for n in mat[f'{split}_images_name']]
        labels = mat[f'{split}_label']
        assert len(files) == summary['pa100k'][split]
        assert labels.shape == (len(files), num_attr)
        assert labels.dtype == np.uint8
        assert set(np.unique(labels).tolist()) <= {0, 1}
        for f in files:
            assert f not in seen
            seen.add(f)
            assert osp.isfile(root / 'PA-100K' / 'data' / f)
        col = {n: labels[:, i] for i, n in enumerate(names)}
        assert (col['Front'] + col['Back'] == 1).all()
        assert (col['ShortSleeve'] + col['LongSleeve'] == 1).all()
        assert (col['Trousers'] + col['Shorts'] + col['Skirt&Dress'] == 1
                ).all()
        assert ((col['UpperLogo'] == 1) <= (col['Front'] == 1)).all()
        upper = [i for i, n in enumerate(names) if n.startswith('UpperColor')]
        assert (labels[:, upper].sum(1) == 1).all()
        if split == 'train':
            assert (labels.min(0) == 0).all() and (labels.max(0) == 1).all()
    img = cv2.imread(str(root / 'PA-100K' / 'data' / sorted(seen)[0]))
    assert img is not None and img.shape[0] > img.shape[1]
