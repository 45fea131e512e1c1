"""Positive ratios of the training attributes for the weighted BCE."""
from typing import List

import numpy as np
from mmengine.hooks import Hook

from mmpretrain.registry import HOOKS
from ...models.losses import AttributeWeightedBCELoss
from .unwrap_model import unwrap_model
from ...utils.errors import InputDataError


def attribute_labels(dataset, num_classes: int = None) -> np.ndarray:
    """(N, K) 0/1 labels of a multi-label dataset: each sample's
    ``gt_score`` (K,) (PA-100K), or its ``gt_label`` positive indices made
    multi-hot over ``num_classes``."""
    rows: List[np.ndarray] = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if 'gt_score' in info:
            rows.append(np.asarray(info['gt_score'], np.float64).ravel())
        elif 'gt_label' in info and num_classes is not None:
            row = np.zeros(num_classes)
            row[np.asarray(info['gt_label'], np.int64).ravel()] = 1
            rows.append(row)
        else:
            raise InputDataError(
                f'{type(dataset).__name__} sample {i} has no gt_score (or '
                'gt_label) for the attribute positive ratios')
    if not rows:
        raise InputDataError(f'{type(dataset).__name__} is empty: no '
                             'attribute positive ratios')
    if len({len(r) for r in rows}) != 1:
        raise InputDataError(f'{type(dataset).__name__} samples have '
                             'different attribute counts')
    return np.stack(rows)


@HOOKS.register_module()
class AttributePositiveRatioHook(Hook):
    """Before training, set the positive ratio ``p_j`` of every attribute
    (mean of its 0/1 training labels) in each
    :class:`AttributeWeightedBCELoss` of the model, unless the config gave
    the loss its ``pos_ratio``. Works with and without a DDP wrapper; logs
    one line.
    """
    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        model = unwrap_model(runner)
        losses = [m for m in model.modules()
                  if isinstance(m, AttributeWeightedBCELoss)]
        if not losses:
            raise InputDataError(
                'AttributePositiveRatioHook: the model has no '
                'AttributeWeightedBCELoss')
        todo = [loss for loss in losses if not loss.ratio_from_config]
        if not todo:
            runner.logger.info('AttributePositiveRatioHook: the config '
                               'gives pos_ratio, kept')
            return
        dataset = runner.train_dataloader.dataset
        head = getattr(model, 'head', None)
        labels = attribute_labels(dataset,
                                  getattr(head, 'num_classes', None))
        ratio = labels.mean(axis=0)
        num_classes = getattr(head, 'num_classes', None)
        if num_classes is not None and num_classes != labels.shape[1]:
            raise InputDataError(
                f'{type(dataset).__name__} at {dataset.data_root} has '
                f'{labels.shape[1]} attributes but the head predicts '
                f'{num_classes} (set model.head.num_classes)')
        for loss in todo:
            loss.set_pos_ratio(ratio)
        runner.logger.info(
            f'AttributePositiveRatioHook: positive ratios of '
            f'{labels.shape[1]} attributes from {labels.shape[0]} training '
            f'samples (min {ratio.min():.4f}, mean {ratio.mean():.4f}, '
            f'max {ratio.max():.4f})')
