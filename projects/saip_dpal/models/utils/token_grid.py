"""Backbone outputs as token sequences on a known grid."""
import math
from typing import Sequence, Tuple, Union

import torch
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


def token_grid(num_tokens: int, image_hw: Tuple[int, int]) -> Tuple[int, int]:
    """(h, w) of ``num_tokens`` patch tokens covering an (H, W) image with
    one stride for both axes (h / w = H / W)."""
    H, W = image_hw
    h = max(1, round(math.sqrt(num_tokens * H / W)))
    w = num_tokens // h
    if h * w != num_tokens:
        raise ValueError(f'{num_tokens} tokens do not form a grid with the '
                         f'aspect of a {H}x{W} image')
    return h, w


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
