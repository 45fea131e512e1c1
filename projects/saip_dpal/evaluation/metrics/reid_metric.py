"""Person re-identification retrieval: mAP and CMC (Market-1501 protocol)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from mmpretrain.registry import METRICS


def reid_map_cmc(dist: np.ndarray,
                 query_ids: np.ndarray,
                 gallery_ids: np.ndarray,
                 query_cams: np.ndarray,
                 gallery_cams: np.ndarray,
                 max_rank: int = 10) -> Dict[str, float]:
    """mAP and CMC of a (Q, G) distance matrix.

    For each query, gallery items of the same identity *and* camera, and
    junk items (identity -1), are removed from its ranking; queries with no
    remaining true match are skipped (counted in ``num_valid_queries``).

    Returns:
        dict: ``mAP``, ``rank1``, ``rank5``, ``rank10`` (percent) and
        ``num_valid_queries``.
    """
    order = np.argsort(dist, axis=1, kind='stable')
    aps, cmc = [], []
    for q in range(dist.shape[0]):
        ranked = order[q]
        keep = ~(((gallery_ids[ranked] == query_ids[q])
                  & (gallery_cams[ranked] == query_cams[q]))
                 | (gallery_ids[ranked] == -1))
        hits = (gallery_ids[ranked][keep] == query_ids[q]).astype(float)
        if not hits.any():
            continue
        first = int(np.argmax(hits))
        curve = np.zeros(max_rank)
        curve[first:] = 1  # empty when the first match is beyond max_rank
        cmc.append(curve)
        precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        aps.append(float((precision * hits).sum() / hits.sum()))
    if not aps:
        raise ValueError('no query has a true match in the gallery')
    cmc = np.mean(cmc, axis=0) * 100
    out = dict(mAP=float(np.mean(aps)) * 100,
               num_valid_queries=len(aps))
    for r in (1, 5, 10):
        if r <= max_rank:
            out[f'rank{r}'] = float(cmc[r - 1])
    return out


@METRICS.register_module()
class ReIDMetric(BaseMetric):
    """mAP / CMC of L2-normalised features, query against gallery.

    Each data sample carries ``pred_feature`` (C,) (or ``feature``),
    ``gt_label`` (person id), ``camid`` and ``is_query``. Distances are
    ``1 - cosine`` (squared Euclidean of unit vectors, halved).

    Args:
        max_rank (int): Longest CMC. Defaults to 10.
    """
    default_prefix = 'reid'

    def __init__(self,
                 max_rank: int = 10,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.max_rank = max_rank

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            feature = sample.get('pred_feature', sample.get('feature'))
            label = sample['gt_label']
            self.results.append(
                dict(
                    feature=torch.as_tensor(feature).float().cpu(),
                    pid=int(torch.as_tensor(label).reshape(-1)[0]),
                    camid=int(sample['camid']),
                    is_query=bool(sample['is_query'])))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        feats = F.normalize(torch.stack([r['feature'] for r in results]),
                            dim=1)
        is_query = np.array([r['is_query'] for r in results])
        pids = np.array([r['pid'] for r in results])
        cams = np.array([r['camid'] for r in results])
        q, g = np.where(is_query)[0], np.where(~is_query)[0]
        dist = (1 - feats[q] @ feats[g].T).numpy()
        return reid_map_cmc(dist, pids[q], pids[g], cams[q], cams[g],
                            self.max_rank)
