"""Pedestrian attribute recognition: label-based mean accuracy (mA)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from mmpretrain.registry import METRICS


def attribute_mean_accuracy(pred: np.ndarray,
                            target: np.ndarray) -> Dict[str, float]:
    """mA of binary predictions and targets (N, A).

    Per attribute the mean of the recall on positives and on negatives
    (an attribute with no positive, or no negative, sample counts its one
    defined side), then averaged over attributes; also the instance-based
    accuracy / precision / recall / F1 of PA-100K's protocol. Percent.
    """
    pred, target = pred.astype(bool), target.astype(bool)
    pos, neg = target.sum(0), (~target).sum(0)
    tpr = np.where(pos > 0, (pred & target).sum(0) / np.maximum(pos, 1),
                   np.nan)
    tnr = np.where(neg > 0, (~pred & ~target).sum(0) / np.maximum(neg, 1),
                   np.nan)
    mA = float(np.nanmean(np.nanmean(np.stack([tpr, tnr]), axis=0))) * 100
    inter = (pred & target).sum(1)
    union = (pred | target).sum(1)
    acc = np.mean(np.where(union > 0, inter / np.maximum(union, 1), 1.))
    prec = np.mean(np.where(pred.sum(1) > 0,
                            inter / np.maximum(pred.sum(1), 1), 0.))
    rec = np.mean(np.where(target.sum(1) > 0,
                           inter / np.maximum(target.sum(1), 1), 0.))
    f1 = 2 * prec * rec / max(prec + rec, 1e-12)
    return dict(mA=mA, accuracy=float(acc) * 100,
                precision=float(prec) * 100, recall=float(rec) * 100,
                f1=float(f1) * 100)


@METRICS.register_module()
class AttributeMetric(BaseMetric):
    """mA (and instance metrics) of multi-label attribute predictions.

    Each data sample carries ``pred_score`` (A,) (probabilities) and
    ``gt_score`` (A,) (0/1); a prediction is positive above ``thr``.
    """
    default_prefix = 'attribute'

    def __init__(self,
                 thr: float = 0.5,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thr = thr

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append(
                dict(
                    pred=torch.as_tensor(sample['pred_score']).cpu().numpy(),
                    target=torch.as_tensor(sample['gt_score']).cpu().numpy()))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pred = np.stack([r['pred'] for r in results]) > self.thr
        target = np.stack([r['target'] for r in results]) > 0.5
        return attribute_mean_accuracy(pred, target)
