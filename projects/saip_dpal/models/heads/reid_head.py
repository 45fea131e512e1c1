"""Person re-identification head: BNNeck, softmax + batch-hard triplet."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from ...utils.errors import InputDataError
from ...utils.async_copies import LaggedHostRead


def batch_hard_triplet_loss(features: torch.Tensor, labels: torch.Tensor,
                            margin: float = 0.3) -> torch.Tensor:
    """Mean over anchors of ``relu(d(a, hardest positive) - d(a, hardest
    negative) + margin)`` with Euclidean distances of (N, C) features.
    Anchors without a positive or a negative are left out."""
    feats = features.float()
    dist = torch.cdist(feats, feats).clamp_min(1e-12)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos = same & ~eye
    hardest_pos = dist.masked_fill(~pos, float('-inf')).amax(dim=1)
    hardest_neg = dist.masked_fill(same, float('inf')).amin(dim=1)
    valid = pos.any(dim=1) & (~same).any(dim=1)
    loss = F.relu(hardest_pos - hardest_neg + margin)
    return (loss * valid).sum() / valid.sum().clamp_min(1)


@MODELS.register_module()
class ReIDHead(BaseModule):
    """Softmax + triplet ReID head on a global feature (B, C).

    Training: cross-entropy (label smoothing) of a bias-free classifier
    on the BatchNorm-ed feature (BNNeck) plus batch-hard triplet loss on
    the feature itself. Prediction: the feature before the neck as
    ``pred_feature`` (the metric L2-normalises it).

    Args:
        in_channels (int): Feature width C.
        num_classes (int): Training identities.
        margin (float): Triplet margin. Defaults to 0.3.
        label_smoothing (float): Defaults to 0.1.
        loss_weights (tuple[float, float]): (softmax, triplet) weights.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 margin: float = 0.3,
                 label_smoothing: float = 0.1,
                 loss_weights: Tuple[float, float] = (1., 1.),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.bnneck = nn.BatchNorm1d(in_channels)
        self.bnneck.bias.requires_grad_(False)
        self.classifier = nn.Linear(in_channels, num_classes, bias=False)
        self.margin = margin
        self.label_smoothing = label_smoothing
        self.loss_weights = tuple(loss_weights)
        self._label_max = LaggedHostRead()

    def _check_labels(self, labels: torch.Tensor) -> None:
        """Raise one line for a label beyond the classifier. The largest
        label is read one step late on CUDA (no host-device sync; the
        softmax loss of that step clamps the labels into range, where a
        label past the classes would stop the device with an assert), at
        once elsewhere."""
        self._label_max.push(labels.max())
        classes = self.classifier.out_features
        for largest, _ in self._label_max.pop():
            if int(largest) >= classes:
                raise InputDataError(
                    f'ReID label {int(largest)} is beyond the head\'s '
                    f'{classes} classes: set model.head.num_classes to the '
                    'number of training identities')

    def init_weights(self) -> None:
        """Classifier weights N(0, 0.001^2) unless ``init_cfg`` is given."""
        super().init_weights()
        if self.init_cfg is None:
            nn.init.normal_(self.classifier.weight, std=0.001)

    def pre_logits(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]
                   ) -> torch.Tensor:
        """The global feature (B, C) from the backbone output."""
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        return x[:, 0] if x.dim() == 3 else x

    def loss(self, feats, data_samples: List[DataSample]) -> dict:
        feature = self.pre_logits(feats)
        labels = torch.cat([s.gt_label for s in data_samples]).to(
            feature.device)
        self._check_labels(labels)
        classes = self.classifier.out_features
        logits = self.classifier(self.bnneck(feature))
        w_ce, w_tri = self.loss_weights
        return dict(
            loss_softmax=w_ce * F.cross_entropy(  # in range on the device
                logits.float(), labels.clamp(max=classes - 1),
                label_smoothing=self.label_smoothing),
            loss_triplet=w_tri * batch_hard_triplet_loss(
                feature, labels, self.margin))

    def predict(self, feats, data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        feature = self.pre_logits(feats)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(feature.shape[0])]
        for sample, f in zip(data_samples, feature):
            sample.set_field(f.detach(), 'pred_feature', field_type='data')
        return data_samples
