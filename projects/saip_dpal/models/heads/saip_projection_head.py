"""DINO-style projection head of SAIP's cross-scale matching."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ..utils.reference_init import xavier_init


class WeightNormLinear(nn.Module):
    """Bias-free linear layer with weight normalisation per output row.

    ``weight = weight_g * weight_v / ||weight_v||`` (row norms), i.e. the
    direction ``weight_v`` and the norm ``weight_g`` are separate parameters.
    ``weight_g`` starts at 1; with ``fix_norm=True`` it does not require
    gradients, so every row of the effective weight keeps unit norm.

    Written out instead of ``torch.nn.utils.weight_norm`` (deprecated) or a
    parametrization, so the state-dict keys are plain (``weight_g``,
    ``weight_v``), ``copy.deepcopy`` (an EMA teacher) is trivial and generic
    ``nn.Linear`` initialisers do not touch it.

    Args:
        in_features (int): Input channels.
        out_features (int): Output channels.
        fix_norm (bool): Keep ``weight_g`` at 1, untrained. Defaults to True.

    Shapes:
        (..., in_features) -> (..., out_features).
    """

    def __init__(self,
                 in_features: int,
                 out_features: int,
                 fix_norm: bool = True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight_v = nn.Parameter(torch.empty(out_features, in_features))
        self.weight_g = nn.Parameter(
            torch.ones(out_features, 1), requires_grad=not fix_norm)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Direction as ``nn.Linear``'s default init, norm 1."""
        nn.init.kaiming_uniform_(self.weight_v, a=5**0.5)
        with torch.no_grad():
            self.weight_g.fill_(1.)

    @property
    def weight(self) -> torch.Tensor:
        """The effective weight (out_features, in_features)."""
        return self.weight_g * F.normalize(self.weight_v, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ weight.T``, the norms applied to the output columns: the
        same values as with :attr:`weight`, without normalising (and
        back-propagating through) a copy of the whole weight."""
        norms = self.weight_v.norm(dim=1).clamp_min(1e-12)  # F.normalize's
        return F.linear(x, self.weight_v) * (self.weight_g[:, 0] / norms)

    def extra_repr(self) -> str:
        return (f'in_features={self.in_features}, '
                f'out_features={self.out_features}, '
                f'fix_norm={not self.weight_g.requires_grad}')


@MODELS.register_module()
class SAIPProjectionHead(BaseModule):
    """Projection head of SAIP's cross-scale matching (as DINO's).

    ``Linear(in, hidden) - GELU - Linear(hidden, hidden) - GELU -
    Linear(hidden, bottleneck)``, L2 normalisation, then a weight-normalised
    bias-free ``Linear(bottleneck, out)`` whose row norms are fixed to 1
    (``norm_last_layer=True``) so only their direction is trained.

    Args:
        in_channels (int): Input channels (the backbone's cls token width).
        hidden_channels (int): MLP hidden width. Defaults to 2048.
        bottleneck_channels (int): Bottleneck width. Defaults to 256.
        out_channels (int): Output (prototype) count. Defaults to 65536.
        norm_last_layer (bool): Fix the last layer's norm to 1.
            Defaults to True.
        init_cfg (dict, optional): Initialisation config. By default, as
            the reference, the MLP's linear weights are Xavier-uniform with
            zero biases (:meth:`init_weights`) and the last layer's
            direction keeps ``nn.Linear``'s default.

    Shapes:
        (N, in_channels) -> (N, out_channels).
    """

    def __init__(self,
                 in_channels: int,
                 hidden_channels: int = 2048,
                 bottleneck_channels: int = 256,
                 out_channels: int = 65536,
                 norm_last_layer: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hidden_channels), nn.GELU(),
            nn.Linear(hidden_channels, hidden_channels), nn.GELU(),
            nn.Linear(hidden_channels, bottleneck_channels))
        self.last_layer = WeightNormLinear(
            bottleneck_channels, out_channels, fix_norm=norm_last_layer)

    def init_weights(self) -> None:
        """The reference's initialisation unless ``init_cfg`` is given."""
        super().init_weights()
        if self.init_cfg is None:
            xavier_init(self.mlp)

    def bottleneck(self, x: torch.Tensor) -> torch.Tensor:
        """The L2-normalised bottleneck: (N, C) -> (N, bottleneck)."""
        return F.normalize(self.mlp(x), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels) -> (N, out_channels)."""
        return self.last_layer(self.bottleneck(x))
