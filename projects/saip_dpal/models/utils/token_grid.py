"""Backbone outputs as token sequences on a known grid."""
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F


def as_tokens(feats: Union[torch.Tensor, Sequence[torch.Tensor]]
              ) -> torch.Tensor:
    """The last backbone output as (B, 1 + N, C) tokens, cls first.

    (B, 1 + N, C) tokens (a ViT with ``out_type='raw'``) pass through; a
    (B, C, h, w) map (a Swin stage) becomes its average-pooled token
    followed by the h * w flattened tokens.
    """
    x = feats[-1] if isinstance(feats, (tuple, list)) else feats
    if x.dim() == 3:
        return x
    if x.dim() == 4:
        tokens = x.flatten(2).transpose(1, 2)
        return torch.cat([tokens.mean(dim=1, keepdim=True), tokens], dim=1)
    raise ValueError(f'expected (B, N, C) tokens or a (B, C, h, w) map, got '
                     f'{tuple(x.shape)}')


def output_grid(backbone: nn.Module,
                image_hw: Sequence[int]) -> Tuple[int, int]:
    """(h, w) of a ViT's or Swin's last output tokens for an (H, W) image:
    the image over the patch embedding's stride (rounded up: the last
    partial patch is padded), halved (rounded up) by each Swin patch
    merging before the output."""
    stride = backbone.patch_embed.projection.stride
    h, w = (-(-size // s) for size, s in zip(image_hw, stride))
    stages = list(getattr(backbone, 'stages', ()))
    if stages:
        last = backbone.out_indices[-1] % len(stages)
        merges = [s.downsample is not None for s in stages[:last + 1]]
        if not getattr(backbone, 'out_after_downsample', False):
            merges = merges[:-1]
        for _ in range(sum(merges)):
            h, w = -(-h // 2), -(-w // 2)
    return h, w


def backbone_tokens(backbone: nn.Module, images: torch.Tensor
                    ) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """The backbone's tokens of ``images`` (B, 3, H, W) and their grid.

    Returns:
        tuple: tokens (B, 1 + h * w, C) as :func:`as_tokens` gives them, and
        their grid (h, w): a feature map's own size, else
        :func:`output_grid` (checked against the token count).
    """
    feats = backbone(images)
    x = feats[-1] if isinstance(feats, (tuple, list)) else feats
    if x.dim() == 4:
        return as_tokens(x), tuple(x.shape[-2:])
    h, w = output_grid(backbone, images.shape[-2:])
    if x.dim() != 3 or x.shape[1] != 1 + h * w:
        raise ValueError(f'{type(backbone).__name__} gave {tuple(x.shape)} '
                         f'for a {h}x{w} patch grid; expected (B, '
                         f'{1 + h * w}, C) tokens, cls first')
    return x, (h, w)


def resize_patch_tokens(tokens: torch.Tensor, src_hw: Tuple[int, int],
                        dst_hw: Tuple[int, int]) -> torch.Tensor:
    """Bicubic resize of patch tokens (B, h*w, C) on grid ``src_hw`` to
    (B, H*W, C) on ``dst_hw``; the same tensor when the grids agree."""
    if tuple(src_hw) == tuple(dst_hw):
        return tokens
    B, N, C = tokens.shape
    grid = tokens.transpose(1, 2).reshape(B, C, *src_hw)
    grid = F.interpolate(
        grid, size=tuple(dst_hw), mode='bicubic', align_corners=False)
    return grid.flatten(2).transpose(1, 2)
