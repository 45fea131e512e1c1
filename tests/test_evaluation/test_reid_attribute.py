"""ReID mAP / CMC and attribute mA against hand computations, and the
Market-1501 / PA-100K readers on the synthetic data."""
import numpy as np
import pytest
import torch

from projects.saip_dpal.datasets import Market1501Dataset, PA100KDataset
from projects.saip_dpal.evaluation import (AttributeMetric, ReIDMetric,
                                           attribute_mean_accuracy,
                                           reid_map_cmc)

Q_IDS, Q_CAMS = np.array([1, 2, 3]), np.array([1, 1, 1])
G_IDS, G_CAMS = np.array([1, 2, 1, -1, 1]), np.array([1, 2, 2, 3, 3])
DIST = np.array([[0.1, 0.2, 0.3, 0.05, 0.5],
                 [0.4, 0.1, 0.3, 0.2, 0.6],
                 [0.1, 0.2, 0.3, 0.4, 0.5]])


def test_map_and_cmc_by_hand():
    out = reid_map_cmc(DIST, Q_IDS, G_IDS, Q_CAMS, G_CAMS)
    # query 0: junk g3 and same-camera g0 removed -> g1 (miss), g2, g4 hit:
    # AP = (1/2 + 2/3) / 2, first hit at rank 2; query 1: AP 1, rank 1;
    # query 2 (id 3) has no match and is skipped
    assert out['num_valid_queries'] == 2
    assert out['mAP'] == pytest.approx(100 * ((0.5 + 2 / 3) / 2 + 1) / 2)
    assert out['rank1'] == pytest.approx(50.)
    assert out['rank5'] == pytest.approx(100.)


def test_reid_metric_on_features():
    # features whose cosine distances rank like DIST for queries 0 and 1
    metric = ReIDMetric()
    samples = []
    gallery = torch.eye(5)
    for i in range(5):
        samples.append(dict(pred_feature=gallery[i], gt_label=G_IDS[i],
                            camid=G_CAMS[i], is_query=False))
    # query 0 closest to g0, then g1, then g2; query 1 closest to g1
    q0 = torch.tensor([1., .8, .6, 0., 0.])
    q1 = torch.tensor([0., 1., 0., 0., 0.])
    samples += [dict(pred_feature=q0, gt_label=1, camid=1, is_query=True),
                dict(pred_feature=q1, gt_label=2, camid=1, is_query=True)]
    metric.process(None, samples)
    out = metric.evaluate(len(samples))
    # query 0: g0 removed (same camera) -> g1 miss, g2 hit, then g3 junk,
    # g4 hit at the end: AP (1/2 + 2/3) / 2; query 1: AP 1
    assert out['reid/mAP'] == pytest.approx(100 * ((0.5 + 2 / 3) / 2 + 1) / 2)
    assert out['reid/rank1'] == pytest.approx(50.)


def test_attribute_mean_accuracy_by_hand():
    target = np.array([[1, 0], [1, 0], [0, 0], [0, 0]])
    pred = np.array([[1, 0], [0, 1], [0, 0], [1, 0]])
    out = attribute_mean_accuracy(pred, target)
    # attribute 0: recall 1/2 on positives, 1/2 on negatives -> 0.5;
    # attribute 1 has no positive: 3/4 on negatives -> mA (0.5 + 0.75) / 2
    assert out['mA'] == pytest.approx(62.5)
    # instances: IoU 1, 0, (empty/empty) 1, 0 -> 50%
    assert out['accuracy'] == pytest.approx(50.)
    metric = AttributeMetric(thr=0.5)
    metric.process(None, [dict(pred_score=torch.tensor(p * 0.9 + 0.05),
                               gt_score=torch.tensor(t))
                          for p, t in zip(pred, target)])
    assert metric.evaluate(4)['attribute/mA'] == pytest.approx(62.5)


def test_market_and_pa100k_readers_on_synthetic_data(synthetic_root):
    import re
    root = synthetic_root / 'Market-1501'
    train = Market1501Dataset(str(root), split='train', lazy_init=False)
    files = list((root / 'bounding_box_train').glob('*.jpg'))
    ids = {int(re.match(r'(-?\d+)_', f.name).group(1)) for f in files}
    assert len(train) == len(files)
    labels = {train.get_data_info(i)['gt_label'] for i in range(len(train))}
    assert labels == set(range(len(ids)))
    test = Market1501Dataset(str(root), split='test')
    infos = [test.get_data_info(i) for i in range(len(test))]
    n_query = len(list((root / 'query').glob('*.jpg')))
    assert sum(i['is_query'] for i in infos) == n_query
    assert {-1, 0} <= {i['gt_label'] for i in infos if not i['is_query']}
    # every query has a true match under another camera
    for q in (i for i in infos if i['is_query']):
        assert any(g['gt_label'] == q['gt_label'] and g['camid'] != q['camid']
                   for g in infos if not g['is_query'])

    pa = PA100KDataset(str(synthetic_root / 'PA-100K'), split='val')
    info = pa.get_data_info(0)
    assert info['gt_score'].shape == (len(pa.attributes), )
    assert set(np.unique(info['gt_score'])) <= {0., 1.}
    assert (synthetic_root / 'PA-100K' / 'data').exists()
    assert pa.attributes[:2] == ['Front', 'Back']
