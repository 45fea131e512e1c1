"""SOLIDER's Swin Transformer: mmpretrain's Swin plus the semantic controller.

SOLIDER (Chen et al., CVPR 2023) trains a Swin whose stages are modulated by
a *semantic weight* ``s`` in [0, 1]: after stage ``i`` (after its patch
merging) the tokens that feed stage ``i + 1`` become

    x = x * softplus(W_w[i]([s, 1 - s])) + W_b[i]([s, 1 - s])

with ``W_w[i]``, ``W_b[i]`` = ``Linear(2, C)`` and ``C`` the width *after*
the stage's downsample (Swin-B: 256, 512, 1024, 1024).

How this maps onto mmpretrain's :class:`SwinTransformer` (read from
SOLIDER's ``swin_transformer.py``, an mmdet-style Swin):

* SOLIDER's ``stages[i].downsample`` sits at the end of stage ``i``, exactly
  like mmpretrain's (``SwinBlockSequence(downsample=i < 3)``), so the
  parameter names are the same and a SOLIDER backbone state dict loads
  without renaming (see ``tools/model_converters/solider2mmpretrain.py``).
* The output of stage ``i`` is ``norm{i}`` applied to the tokens *before*
  the downsample and *before* the controller (SOLIDER normalises ``out``,
  the pre-downsample tensor, and modulates ``x``, the downsampled one).
  So the controller of stage ``i`` acts on the input of stage ``i + 1``;
  the fourth pair (``semantic_embed_{w,b}.3``) modulates a tensor that no
  output uses. It is kept so SOLIDER checkpoints load strictly, and skipped
  in ``forward`` (the outputs are identical).
* SOLIDER always pads feature maps to a multiple of the window and keeps
  the shifted windows even when a map is smaller than the window; in
  mmpretrain that is ``pad_small_map=True`` (the default here). At
  256x128 the last stage is 8x4, below the 7x7 window.

DPAL's teacher target is the final normed token map plus a global
average-pooled token as cls: ``out_type='tokens_with_pooled_cls'`` returns
``(B, 1 + H*W, C)`` with the pooled token first (the mean of the normed
tokens, which is SOLIDER's ``avgpool(outs[-1])``), laid out like a ViT's
``out_type='raw'`` so the algorithm can treat both teachers alike.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones import SwinTransformer
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS


@MODELS.register_module()
class SOLIDERSwinTransformer(SwinTransformer):
    """Swin Transformer with SOLIDER's semantic controller.

    Args:
        arch (str | dict): mmpretrain Swin arch. Defaults to ``'base'``
            (SOLIDER-B: embed 128, depths (2, 2, 18, 2), heads
            (4, 8, 16, 32)).
        semantic_weight (float): Default semantic weight ``s`` in [0, 1]
            used when ``forward`` gets none. Defaults to 0.0: SOLIDER's own
            default, and DPAL's per docs/methods.md (DPAL's public code ships
            only the ViT teachers, so nothing there overrides it).
        out_type (str): ``'featmap'`` (mmpretrain's (B, C, H, W) per
            output stage) or ``'tokens_with_pooled_cls'`` ((B, 1 + H*W, C),
            the average of the normed tokens first). Defaults to
            ``'featmap'``.
        pad_small_map (bool): See :class:`SwinTransformer`. Defaults to
            True, which is SOLIDER's behaviour.
        out_indices (Sequence[int]): Output stages. Defaults to ``(3,)``.
        **kwargs: Other :class:`SwinTransformer` arguments
            (``out_after_downsample`` must stay False).
    """
    OUT_TYPES = ('featmap', 'tokens_with_pooled_cls')

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 semantic_weight: float = 0.0,
                 out_type: str = 'featmap',
                 pad_small_map: bool = True,
                 out_indices: Sequence[int] = (3, ),
                 **kwargs):
        if kwargs.get('out_after_downsample', False):
            raise ValueError('SOLIDERSwinTransformer outputs each stage '
                             'before its downsample, as SOLIDER does; '
                             'out_after_downsample must be False')
        if out_type not in self.OUT_TYPES:
            raise ValueError(f'Unsupported out_type {out_type!r}, choose '
                             f'from {self.OUT_TYPES}')
        super().__init__(
            arch=arch,
            pad_small_map=pad_small_map,
            out_indices=out_indices,
            **kwargs)
        self.semantic_weight = self._check_weight(semantic_weight)
        self.out_type = out_type

        # Linear(2, width after the stage's downsample); the last stage has
        # no downsample, so its pair has the last width (as in SOLIDER).
        self.semantic_embed_w = nn.ModuleList()
        self.semantic_embed_b = nn.ModuleList()
        for stage in self.stages:
            self.semantic_embed_w.append(nn.Linear(2, stage.out_channels))
            self.semantic_embed_b.append(nn.Linear(2, stage.out_channels))

    def init_weights(self) -> None:
        """Swin's initialisation, and the semantic embeddings
        N(0, 0.02^2)-truncated with zero biases unless pretrained."""
        super().init_weights()
        if isinstance(self.init_cfg, dict) and \
                self.init_cfg.get('type') == 'Pretrained':
            return
        for layer in (*self.semantic_embed_w, *self.semantic_embed_b):
            trunc_normal_(layer.weight, std=.02)
            nn.init.zeros_(layer.bias)

    @staticmethod
    def _check_weight(value: float) -> float:
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise ValueError(
                f'semantic_weight must be in [0, 1], got {value}')
        return value

    def _condition(self, x: torch.Tensor,
                   semantic_weight: Optional[Union[float, torch.Tensor]]
                   ) -> torch.Tensor:
        """``[s, 1 - s]`` per sample, shape (B, 2)."""
        if semantic_weight is None:
            semantic_weight = self.semantic_weight
        if isinstance(semantic_weight, torch.Tensor):
            s = semantic_weight.to(device=x.device, dtype=x.dtype)
            s = s.reshape(-1).expand(x.shape[0]) if s.numel() == 1 \
                else s.reshape(x.shape[0])
        else:
            s = x.new_full((x.shape[0], ),
                           self._check_weight(semantic_weight))
        return torch.stack([s, 1 - s], dim=-1)

    def forward(self,
                x: torch.Tensor,
                semantic_weight: Optional[Union[float,
                                                torch.Tensor]] = None):
        """Run the backbone.

        Args:
            x (Tensor): Images (B, 3, H, W).
            semantic_weight (float | Tensor, optional): ``s`` for this call,
                one value or one per sample (B,). Defaults to the
                constructor's ``semantic_weight``.

        Returns:
            tuple[Tensor]: One output per ``out_indices`` entry.
        """
        cond = self._condition(x, semantic_weight)
        x, hw_shape = self.patch_embed(x)
        if self.use_abs_pos_embed:
            # SOLIDER has no absolute position embedding; kept for parity
            # with the parent class.
            x = x + resize_pos_embed(self.absolute_pos_embed,
                                     self.patch_resolution, hw_shape,
                                     self.interpolate_mode,
                                     self.num_extra_tokens)
        x = self.drop_after_pos(x)

        outs = []
        last = len(self.stages) - 1
        for i, stage in enumerate(self.stages):
            x, hw_shape = stage(x, hw_shape, do_downsample=False)
            if i in self.out_indices:
                outs.append(self._format(getattr(self, f'norm{i}')(x),
                                         hw_shape, i))
            if i == last:
                break  # the last controller reaches no output (see above)
            x, hw_shape = stage.downsample(x, hw_shape)
            scale = F.softplus(self.semantic_embed_w[i](cond)).unsqueeze(1)
            shift = self.semantic_embed_b[i](cond).unsqueeze(1)
            x = x * scale + shift
        return tuple(outs)

    def _format(self, tokens: torch.Tensor, hw_shape, i: int) -> torch.Tensor:
        if self.out_type == 'tokens_with_pooled_cls':
            return torch.cat([tokens.mean(dim=1, keepdim=True), tokens], 1)
        return tokens.view(-1, *hw_shape, self.num_features[i]).permute(
            0, 3, 1, 2).contiguous()
