"""The frozen probes read what the features hold: features that carry the
labels score near the top, all-zero features stay at the floor (the
prior), and the loaders read the synthetic data with their labels in the
crop's frame."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from projects.saip_dpal.benchmarks import frozen_probes as fp


class TableFeatures(torch.nn.Module):
    """A "backbone" that looks its features up: image ``i`` holds ``i`` in
    its first pixel; returns ``(cls[i], patch[i])``."""

    def __init__(self, cls=None, patch=None):
        super().__init__()
        self.cls, self.patch = cls, patch
        self.anchor = torch.nn.Parameter(torch.zeros(0))

    def forward(self, images):
        index = images[:, 0, 0, 0].round().long()
        pick = (lambda t: None if t is None else t[index])
        return pick(self.cls), pick(self.patch)


def indexed(n, start=0, size=(128, 64)):
    images = torch.zeros(n, 3, *size)
    images[:, 0, 0, 0] = torch.arange(start, start + n).float()
    return images


def test_reid_knn_is_perfect_on_identity_features_and_low_without():
    ids = np.repeat(np.arange(1, 9), 4)  # 8 ids x 4 images
    cams = np.tile(np.arange(1, 5), 8)
    is_query = cams == 1
    data = dict(images=indexed(len(ids)), ids=ids, cams=cams,
                is_query=is_query)
    oracle = TableFeatures(cls=F.one_hot(torch.from_numpy(ids)).float() +
                           0.01 * torch.randn(len(ids), 9))
    assert fp.reid_probe(oracle, data) == dict(mAP=100.0, rank1=100.0)
    floor = fp.reid_probe(fp.ZeroFeatures(), data)
    assert floor['mAP'] < 60


def test_attribute_probe_learns_labels_and_zero_features_get_half():
    torch.manual_seed(0)
    y = (torch.rand(80, 5) > 0.5).float()
    # each attribute lights its own patch of the 8 x 4 grid, over noise
    patch = 0.2 * torch.randn(80, 1, 8, 4)
    patch[:, 0].view(80, -1)[:, :5] += 2 * y - 1
    model = TableFeatures(patch=patch)
    data = dict(train=(indexed(60), y[:60]), test=(indexed(20, 60), y[60:]))
    assert fp.attribute_probe(model, data)['mA'] > 90
    assert fp.attribute_probe(fp.ZeroFeatures(), data)['mA'] == 50.0


def _patch_one_hot(labels, classes, grid=(8, 4)):
    """(N, classes, h, w) patch features: each class's share in a patch."""
    one_hot = F.one_hot(labels, classes).permute(0, 3, 1, 2).float()
    return F.adaptive_avg_pool2d(one_hot, grid)


def test_parsing_probe_reads_patch_labels_and_learns_the_prior_without():
    torch.manual_seed(0)
    n, (h, w) = 80, fp._label_size(fp.PROBE_SIZE)
    labels = torch.zeros(n, h, w, dtype=torch.long)
    for i in range(n):  # a box of class 1..4 anywhere on background
        c, y, x = torch.randint(1, 5, ()), torch.randint(0, h - 12, ()), \
            torch.randint(0, w - 8, ())
        labels[i, y:y + 12, x:x + 8] = c
    feats = _patch_one_hot(labels, fp.NUM_PARSING_CLASSES)
    model = TableFeatures(patch=feats)
    data = dict(train=(indexed(60), labels[:60]),
                val=(indexed(20, 60), labels[60:]))
    good = fp.parsing_probe(model, data)['mIoU']
    floor = fp.parsing_probe(fp.ZeroFeatures(), data)['mIoU']
    assert good > 80 and floor < 25, (good, floor)


def test_pose_probe_finds_keypoints_the_features_mark():
    torch.manual_seed(0)
    n, k = 60, 3
    xy = torch.stack([torch.rand(n, k) * 64, torch.rand(n, k) * 128], -1)
    kpt = torch.cat([xy, torch.ones(n, k, 1)], -1)
    kpt[0, 0, 2] = 0  # not visible: neither trained on nor scored
    # per keypoint a channel that marks its patch, smoothly
    rows, cols = torch.meshgrid(torch.arange(8.) * 16 + 8,
                                torch.arange(4.) * 16 + 8, indexing='ij')
    dist = (rows[None, None] - xy[..., 1, None, None]) ** 2 + \
        (cols[None, None] - xy[..., 0, None, None]) ** 2
    feats = torch.exp(-dist / (2 * 8. ** 2))  # (N, K, 8, 4)
    model = TableFeatures(patch=feats)
    data = dict(size=fp.PROBE_SIZE, train=(indexed(45), kpt[:45]),
                val=(indexed(15, 45), kpt[45:]))
    good = fp.pose_probe(model, data)['PCK']
    floor = fp.pose_probe(fp.ZeroFeatures(), data)['PCK']
    assert good > floor + 30, (good, floor)


def test_loaders_read_the_synthetic_data(synthetic_root):
    data = fp.load_probe_data(str(synthetic_root))
    assert set(data) == set(fp.PROBES)
    images, kpt = data['pose']['train']
    assert images.shape[1:] == (3, 128, 64) and kpt.shape[1:] == (17, 3)
    seen = kpt[..., 2] > 0
    # keypoints land inside the crop, around its centre (the box's)
    assert seen.float().mean() > 0.8
    centre = kpt[..., :2][seen].mean(0)
    assert abs(centre[0] - 32) < 8 and abs(centre[1] - 64) < 16
    _, labels = data['parsing']['train']
    assert labels.shape[1:] == fp._label_size(fp.PROBE_SIZE)
    assert 0 < (labels > 0).float().mean() < 0.9  # a person on background
    reid = data['reid']
    assert reid['is_query'].any() and not reid['is_query'].all()
    assert data['attribute']['train'][1].shape[1] == 34


def test_an_unknown_probe_is_one_line(synthetic_root):
    from projects.saip_dpal.utils import InputDataError
    with pytest.raises(InputDataError, match=r"unknown probe\(s\) \['depth"):
        fp.load_probe_data(str(synthetic_root), ['depth'])
