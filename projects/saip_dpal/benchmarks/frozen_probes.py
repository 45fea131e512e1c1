"""Frozen-backbone probes on the synthetic data: what a pretrained backbone
already knows, before any fine-tuning.

The fine-tunes of :mod:`.hvp_benchmark` run the real toolboxes, but at CPU
scale they train a whole ViT from a few hundred images, and the run-to-run
spread swamps the difference between initialisations. These probes keep
the backbone frozen, compute its features once, and fit only a linear
read-out (DINOv2's linear evaluation), so they measure the features:

- ``reid``: nearest neighbours of the cls feature, query against gallery,
  no training at all (mAP, rank-1). A query must be found under other
  cameras, whose backgrounds and colour casts differ, so colour
  histograms of the whole crop score at chance here.
- ``attribute``: logistic regression of the 34 attributes on the whole
  patch grid, flattened (mA). On the cls feature every backbone scored at
  chance (50), random init and both methods alike.
- ``parsing``: a 1x1 convolution of the patch features, up-sampled 4x,
  trained per pixel on the 20 LIP classes (mIoU).
- ``pose``: per keypoint, a 1x1 convolution of the patch features,
  up-sampled 4x, and a softmax over the map's cells; the arg-max cell is
  the prediction (PCK: the share of visible keypoints found within a
  twentieth of the crop's height).

Every probe sees the same images at ``input_size`` (the CPU recipes'
128 x 64), standardises the features with the training split's statistics
and trains with the same seed and steps, so two backbones differ only in
their weights.
"""
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import (Callable, Dict, Mapping, Optional, Sequence,
                    Tuple)

import numpy as np
import torch
import torch.nn.functional as F

from ..apis.backbone_features import (BackboneFeatures,
                                      build_features_model, image_batch)
from ..evaluation.metrics.attribute_metric import attribute_mean_accuracy
from ..evaluation.metrics.reid_metric import reid_map_cmc
from ..utils.errors import InputDataError

#: (h, w) of every probe's input
PROBE_SIZE = (128, 64)
#: read-out training: full-batch AdamW steps and learning rate
PROBE_STEPS, PROBE_LR, PROBE_WEIGHT_DECAY = 300, 1e-2, 1e-4
#: upsampling of the patch grid for the dense probes
DENSE_UPSAMPLE = 4
NUM_PARSING_CLASSES = 20
#: a keypoint is found within this fraction of the crop's height
PCK_THRESHOLD = 0.05
#: person boxes are widened by this factor before cropping (mmpose's 1.25)
BOX_PADDING = 1.25


def random_backbone(arch: Dict, seed: int,
                    input_size: Tuple[int, int] = PROBE_SIZE
                    ) -> BackboneFeatures:
    """A randomly initialised backbone (mmpretrain's ``init_weights``) of
    the recorded architecture ``arch`` (e.g. ``dict(type=
    'VisionTransformer', arch='deit-tiny', patch_size=16)``)."""
    torch.manual_seed(seed)
    model = build_features_model(arch, input_size)
    model.backbone.init_weights()
    model.input_size = tuple(input_size)
    return model


class ZeroFeatures(torch.nn.Module):
    """The probes' floor: all-zero features of a ViT-Ti's shape, so that
    each read-out learns only its prior (the positional maps of the dense
    probes, the attributes' biases; ReID ranks the gallery in file
    order)."""

    def __init__(self, input_size: Tuple[int, int] = PROBE_SIZE,
                 channels: int = 192, patch: int = 16):
        super().__init__()
        self.input_size, self.channels, self.patch = input_size, channels, \
            patch
        self.anchor = torch.nn.Parameter(torch.zeros(0))  # device lookup

    def forward(self, images: torch.Tensor):
        n, h, w = images.shape[0], images.shape[2] // self.patch, \
            images.shape[3] // self.patch
        return images.new_zeros(n, self.channels), images.new_zeros(
            n, self.channels, h, w)


def _standardise(train: torch.Tensor, *others: torch.Tensor):
    """Features (N, C, ...) scaled per channel by the training split."""
    dims = [0] + list(range(2, train.dim()))
    mean = train.mean(dims, keepdim=True)
    std = train.std(dims, keepdim=True) + 1e-6
    return [(x - mean) / std for x in (train, *others)]


def _fit(layer: torch.nn.Module, loss_fn: Callable[[], torch.Tensor],
         seed: int) -> None:
    """Train ``layer`` full-batch on ``loss_fn()`` from a seeded init."""
    torch.manual_seed(seed)
    layer.reset_parameters()
    optimizer = torch.optim.AdamW(layer.parameters(), lr=PROBE_LR,
                                  weight_decay=PROBE_WEIGHT_DECAY)
    for _ in range(PROBE_STEPS):
        optimizer.zero_grad()
        loss_fn().backward()
        optimizer.step()


@torch.no_grad()
def _features(model: torch.nn.Module, images: torch.Tensor, key: str,
              batch_size: int = 64) -> torch.Tensor:
    """``cls`` (N, C) or ``patch`` (N, C, h, w) features of a normalised
    image batch (N, 3, H, W)."""
    device = next(model.parameters()).device
    out = [model(images[i:i + batch_size].to(device))[key == 'patch'].cpu()
           for i in range(0, len(images), batch_size)]
    return torch.cat(out)


def _read(path: str, flags: int) -> np.ndarray:
    import cv2
    image = cv2.imread(path, flags)
    if image is None:
        raise InputDataError(f'{path}: not an image OpenCV can read')
    return image


# --- ReID ----------------------------------------------------------------
def load_reid(root: str, size: Tuple[int, int]) -> Dict:
    """Market-1501-style ``root``: query + gallery images, ids, cameras."""
    from ..datasets import Market1501Dataset
    samples = Market1501Dataset(root, split='test')
    items = [samples.get_data_info(i) for i in range(len(samples))]
    return dict(images=image_batch([it['img_path'] for it in items], size),
                is_query=np.array([it['is_query'] for it in items]),
                ids=np.array([it['gt_label'] for it in items]),
                cams=np.array([it['camid'] for it in items]))


def reid_probe(model: torch.nn.Module, data: Dict, seed: int = 0
               ) -> Dict[str, float]:
    """kNN retrieval with the cosine of cls features: mAP and rank-1."""
    feats = F.normalize(_features(model, data['images'], 'cls'), dim=1)
    q, ids, cams = data['is_query'], data['ids'], data['cams']
    query, gallery = feats[torch.from_numpy(q)], feats[torch.from_numpy(~q)]
    out = reid_map_cmc((1 - query @ gallery.T).numpy(), ids[q],
                       ids[~q], cams[q], cams[~q])
    return dict(mAP=out['mAP'], rank1=out['rank1'])


# --- attributes ----------------------------------------------------------
def load_attribute(root: str, size: Tuple[int, int]) -> Dict:
    """PA-100K-style ``root``: train and test images and 0/1 labels."""
    from ..datasets import PA100KDataset
    out = {}
    for split in ('train', 'test'):
        data = PA100KDataset(root, split=split)
        items = [data.get_data_info(i) for i in range(len(data))]
        out[split] = (image_batch([it['img_path'] for it in items], size),
                      torch.from_numpy(
                          np.stack([it['gt_score'] for it in items])))
    return out


def attribute_probe(model: torch.nn.Module, data: Dict, seed: int = 0
                    ) -> Dict[str, float]:
    """Logistic regression on the whole patch grid (C * h * w inputs: an
    attribute has its place on the body), trained on ``train``, scored on
    ``test``: mA."""
    (images, y), (test_images, y_test) = data['train'], data['test']
    x, x_test = (f.flatten(1) for f in _standardise(
        _features(model, images, 'patch'),
        _features(model, test_images, 'patch')))
    layer = torch.nn.Linear(x.shape[1], y.shape[1])
    _fit(layer,
         lambda: F.binary_cross_entropy_with_logits(layer(x), y), seed)
    with torch.no_grad():
        pred = (layer(x_test) > 0).numpy()
    return dict(mA=attribute_mean_accuracy(pred, y_test.numpy())['mA'])


# --- dense probes --------------------------------------------------------
class DenseProbe(torch.nn.Module):
    """A 1x1 convolution of (N, C, h, w) patch features, up-sampled
    :data:`DENSE_UPSAMPLE` times, plus a learnt map per output channel of
    the up-sampled grid (the prior: where a class or keypoint usually is,
    which zero features alone reach). Returns (N, K, h * u, w * u)."""

    def __init__(self, channels: int, outputs: int, grid: Tuple[int, int]):
        super().__init__()
        self.conv = torch.nn.Conv2d(channels, outputs, 1)
        self.prior = torch.nn.Parameter(
            torch.zeros(outputs, grid[0] * DENSE_UPSAMPLE,
                        grid[1] * DENSE_UPSAMPLE))

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()
        torch.nn.init.zeros_(self.prior)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.conv(feats), scale_factor=DENSE_UPSAMPLE,
                             mode='bilinear', align_corners=False) + \
            self.prior


def _label_size(size: Tuple[int, int], patch: int = 16) -> Tuple[int, int]:
    """(h, w) of the dense probes' output for a ``size`` input."""
    return (size[0] // patch * DENSE_UPSAMPLE,
            size[1] // patch * DENSE_UPSAMPLE)


def load_parsing(root: str, size: Tuple[int, int]) -> Dict:
    """LIP-style ``root`` (``{train,val}_images/*.jpg``,
    ``{train,val}_segmentations/*.png``): images and label maps at the
    probe's output size."""
    import cv2
    out_h, out_w = _label_size(size)
    out = {}
    for split in ('train', 'val'):
        folder = osp.join(root, f'{split}_images')
        if not osp.isdir(folder):
            raise InputDataError(f'LIP folder not found: {folder}')
        names = sorted(n for n in os.listdir(folder) if n.endswith('.jpg'))
        labels = np.stack([
            cv2.resize(_read(osp.join(root, f'{split}_segmentations',
                                      n[:-4] + '.png'),
                             cv2.IMREAD_GRAYSCALE), (out_w, out_h),
                       interpolation=cv2.INTER_NEAREST) for n in names
        ])
        out[split] = (image_batch([osp.join(folder, n) for n in names], size),
                      torch.from_numpy(labels).long())
    return out


def parsing_probe(model: torch.nn.Module, data: Dict, seed: int = 0
                  ) -> Dict[str, float]:
    """Per-pixel linear classifier on the patch features: mIoU over the
    classes present in ``val``."""
    (images, y), (val_images, y_val) = data['train'], data['val']
    x, x_val = _standardise(_features(model, images, 'patch'),
                            _features(model, val_images, 'patch'))
    layer = DenseProbe(x.shape[1], NUM_PARSING_CLASSES, x.shape[-2:])
    _fit(layer, lambda: F.cross_entropy(layer(x), y, ignore_index=255),
         seed)
    with torch.no_grad():
        pred = layer(x_val).argmax(1)
    valid = y_val != 255
    ious = []
    for c in range(NUM_PARSING_CLASSES):
        p, t = (pred == c) & valid, (y_val == c) & valid
        if t.any():
            ious.append((p & t).sum().item() / (p | t).sum().item())
    return dict(mIoU=100 * float(np.mean(ious)))


def _person_crops(root: str, split: str, size: Tuple[int, int]):
    """COCO-style person crops: each annotated box, widened by
    :data:`BOX_PADDING` to the aspect of ``size`` (h, w), warped to
    ``size``; returns the BGR crops and their (N, K, 3) keypoints (x, y,
    visible) in crop pixels."""
    import cv2
    ann_file = osp.join(root, 'annotations',
                        f'person_keypoints_{split}2017.json')
    if not osp.isfile(ann_file):
        raise InputDataError(f'COCO keypoints not found: {ann_file}')
    with open(ann_file) as f:
        coco = json.load(f)
    files = {im['id']: im['file_name'] for im in coco['images']}
    h, w = size
    crops, keypoints = [], []
    images: Dict[int, np.ndarray] = {}
    for ann in coco['annotations']:
        if not ann.get('num_keypoints'):
            continue
        image_id = ann['image_id']
        if image_id not in images:
            images[image_id] = _read(
                osp.join(root, f'{split}2017', files[image_id]),
                cv2.IMREAD_COLOR)
        x0, y0, bw, bh = ann['bbox']
        cx, cy = x0 + bw / 2, y0 + bh / 2
        scale = h / (max(bh, bw * h / w) * BOX_PADDING)
        affine = np.float32([[scale, 0, w / 2 - scale * cx],
                             [0, scale, h / 2 - scale * cy]])
        crops.append(cv2.warpAffine(images[image_id], affine, (w, h),
                                    flags=cv2.INTER_LINEAR))
        kpt = np.asarray(ann['keypoints'], np.float32).reshape(-1, 3)
        kpt[:, :2] = kpt[:, :2] * scale + affine[:, 2]
        inside = (kpt[:, 0] >= 0) & (kpt[:, 0] < w) & (kpt[:, 1] >= 0) & \
            (kpt[:, 1] < h)
        kpt[:, 2] = inside & (kpt[:, 2] > 0)
        keypoints.append(kpt)
    if not crops:
        raise InputDataError(f'no annotated person in {ann_file}')
    return crops, torch.from_numpy(np.stack(keypoints))


def load_pose(root: str, size: Tuple[int, int]) -> Dict:
    """COCO-style ``root``: train2017 and val2017 person crops and their
    keypoints in crop pixels."""
    out = dict(size=tuple(size))
    for split in ('train', 'val'):
        crops, keypoints = _person_crops(root, split, size)
        out[split] = image_batch(crops, size), keypoints
    return out


def pose_probe(model: torch.nn.Module, data: Dict, seed: int = 0
               ) -> Dict[str, float]:
    """Keypoint localisation from the patch features, train -> val:
    PCK@0.05 of the crop height."""
    (images, kpt), (val_images, kpt_val) = data['train'], data['val']
    x, x_val = _standardise(_features(model, images, 'patch'),
                            _features(model, val_images, 'patch'))
    size = data['size']
    cells = x.shape[-2] * DENSE_UPSAMPLE, x.shape[-1] * DENSE_UPSAMPLE
    cell_h, cell_w = size[0] / cells[0], size[1] / cells[1]
    row = (kpt[..., 1] / cell_h).long().clamp(0, cells[0] - 1)
    col = (kpt[..., 0] / cell_w).long().clamp(0, cells[1] - 1)
    target, visible = row * cells[1] + col, kpt[..., 2]
    layer = DenseProbe(x.shape[1], kpt.shape[1], x.shape[-2:])

    target, visible = target.flatten(), visible.flatten()

    def loss():  # a softmax over the cells of each (crop, keypoint) map
        logits = layer(x).flatten(2).flatten(0, 1)  # (N * K, cells)
        ce = F.cross_entropy(logits, target, reduction='none')
        return (ce * visible).sum() / visible.sum().clamp(min=1)

    _fit(layer, loss, seed)
    with torch.no_grad():
        best = layer(x_val).flatten(2).argmax(-1)
    pred = torch.stack([(best % cells[1] + 0.5) * cell_w,
                        (best // cells[1] + 0.5) * cell_h], -1)
    error = (pred - kpt_val[..., :2]).norm(dim=-1)
    seen = kpt_val[..., 2] > 0
    found = (error < PCK_THRESHOLD * size[0]) & seen
    return dict(PCK=100 * found.sum().item() / max(seen.sum().item(), 1))


@dataclass(frozen=True)
class Probe:
    """A frozen-feature probe: its data folder under the synthetic root,
    its loader ``load(root, size)``, its scorer ``score(model, data,
    seed)`` and its (metric key, column title) columns."""
    folder: str
    load: Callable
    score: Callable
    metrics: Tuple[Tuple[str, str], ...]


PROBES: Dict[str, Probe] = {
    'pose': Probe('coco', load_pose, pose_probe, (('PCK', 'pose PCK'), )),
    'parsing': Probe('LIP', load_parsing, parsing_probe,
                     (('mIoU', 'parsing mIoU'), )),
    'reid': Probe('Market-1501', load_reid, reid_probe,
                  (('mAP', 'ReID mAP'), ('rank1', 'ReID R1'))),
    'attribute': Probe('PA-100K', load_attribute, attribute_probe,
                       (('mA', 'attr mA'), )),
}


def load_probe_data(data_root: str, tasks: Sequence[str] = tuple(PROBES),
                    size: Tuple[int, int] = PROBE_SIZE) -> Dict[str, Dict]:
    """Every probe's images and labels, read once for all backbones."""
    unknown = [t for t in tasks if t not in PROBES]
    if unknown:
        raise InputDataError(f'unknown probe(s) {unknown}; choose from '
                             f'{list(PROBES)}')
    out = {}
    for task in tasks:
        root = osp.join(data_root, PROBES[task].folder)
        if not osp.isdir(root):
            raise InputDataError(f'{task} data not found: {root} (write it '
                                 'with `make data`)')
        out[task] = PROBES[task].load(root, size)
    return out


def probe_model(path: Optional[str], seed: int = 0,
                random_arch: Optional[Dict] = None,
                input_size: Tuple[int, int] = PROBE_SIZE
                ) -> torch.nn.Module:
    """The frozen model of an extracted backbone file, a random
    ``random_arch`` backbone initialised with ``seed`` (``path=None``,
    default a ViT-Ti/16), or :class:`ZeroFeatures` (``path='prior'``)."""
    from ..apis.backbone_features import load_backbone
    if path == 'prior':
        return ZeroFeatures(input_size)
    if path is None:
        return random_backbone(random_arch or dict(
            type='VisionTransformer', arch='deit-tiny', patch_size=16),
            seed, input_size)
    model = load_backbone(path, input_size)
    model.input_size = tuple(input_size)
    return model


def run_probes(model: torch.nn.Module, data: Mapping[str, Dict],
               seed: int = 0) -> Dict[str, Dict[str, float]]:
    """``{task: {metric: percent}}`` of the frozen ``model`` on the data of
    :func:`load_probe_data`."""
    model.eval()
    return {task: PROBES[task].score(model, task_data, seed)
            for task, task_data in data.items()}
