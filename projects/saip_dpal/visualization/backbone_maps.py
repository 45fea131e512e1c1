"""Pictures of what a backbone sees: its patch features in three principal
components, the last block's cls attention and DPAL's shape mask."""
from contextlib import nullcontext
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn

from ..models.utils.shape_mask import pca_shape_mask
from ..models.utils.token_grid import backbone_tokens

#: ImageNet mean / std (RGB), as the pretraining configs normalise
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


def images_to_batch(images: Sequence[np.ndarray],
                    size: Tuple[int, int]) -> torch.Tensor:
    """uint8 BGR images -> (B, 3, h, w) normalised RGB, resized to ``size``
    (h, w) bicubic."""
    out = []
    for img in images:
        rgb = cv2.resize(img, size[::-1],
                         interpolation=cv2.INTER_CUBIC)[..., ::-1]
        out.append((rgb.astype(np.float32) - MEAN) / STD)
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float()


def feature_pca(patches: torch.Tensor, grid: Tuple[int, int],
                components: int = 3) -> torch.Tensor:
    """Patch tokens (B, N, C) -> (B, h, w, components) in [0, 1]: their
    projections on the batch's top principal directions, each min-max
    scaled over the batch (as DINOv2 shows its features). Each image's
    mean token is removed first, so the colours show the parts inside an
    image rather than what sets one image apart from the others."""
    B, N, C = patches.shape
    rows = (patches - patches.mean(1, keepdim=True)).reshape(-1, C).double()
    vectors = torch.linalg.eigh(rows.T @ rows)[1][:, -components:].flip(1)
    proj = rows @ vectors
    low, high = proj.min(0).values, proj.max(0).values
    proj = (proj - low) / (high - low).clamp_min(1e-12)
    return proj.reshape(B, *grid, components).float()


class LastBlockAttention:
    """Records the cls token's attention over the patches in the last
    block of an mmpretrain ViT (``backbone.layers[-1].attn``, fused
    attention there keeps no map, so it is recomputed from the block's own
    q and k).

    Use as a context manager around forward passes; :attr:`maps` then holds
    one (B, heads, N) tensor per pass (rows of a softmax without the cls
    column, so each sums to at most 1).
    """

    def __init__(self, backbone: nn.Module):
        layers = getattr(backbone, 'layers', None)
        if layers is None or not hasattr(layers[-1], 'attn') or \
                not hasattr(layers[-1].attn, 'qkv'):
            raise ValueError(f'{type(backbone).__name__} has no ViT blocks '
                             '(layers[-1].attn.qkv): no global attention map')
        self.attn = layers[-1].attn
        self.maps: List[torch.Tensor] = []
        self._handle = None

    def _record(self, module, args) -> None:
        x = args[0]
        B, N, _ = x.shape
        heads = module.num_heads
        qkv = module.qkv(x).reshape(B, N, 3, heads, -1).permute(2, 0, 3, 1, 4)
        q, k = qkv[0], qkv[1]
        scale = q.shape[-1]**-0.5
        attn = (q[:, :, :1] @ k.transpose(-2, -1) * scale).softmax(-1)
        self.maps.append(attn[:, :, 0, 1:].detach())

    def __enter__(self) -> 'LastBlockAttention':
        self._handle = self.attn.register_forward_pre_hook(self._record)
        return self

    def __exit__(self, *exc) -> None:
        self._handle.remove()


@torch.no_grad()
def backbone_maps(backbone: nn.Module,
                  batch: torch.Tensor) -> Dict[str, np.ndarray]:
    """The maps of one batch (B, 3, H, W) on the backbone's patch grid:
    ``pca`` (B, h, w, 3), ``shape_mask`` (B, h, w) (DPAL's batch PCA of
    the patch tokens, sign as the reference) and, for a ViT, ``attention``
    (B, h, w): the cls token's last-block attention, mean over heads."""
    backbone.eval()
    try:
        recorder = LastBlockAttention(backbone)
    except ValueError:
        recorder = None
    with recorder or nullcontext():
        tokens, grid = backbone_tokens(backbone, batch)
    patches = tokens[:, 1:].float()
    out = dict(
        pca=feature_pca(patches, grid).numpy(),
        shape_mask=pca_shape_mask(patches, grid).reshape(
            -1, *grid).numpy())
    if recorder is not None:
        out['attention'] = recorder.maps[-1].mean(1).reshape(
            -1, *grid).numpy()
    return out


def tile(rows: Sequence[Sequence[np.ndarray]], gap: int = 2) -> np.ndarray:
    """Equal-size (h, w, 3) uint8 cells, row by row, on white with ``gap``
    pixels after each cell."""
    h, w = rows[0][0].shape[:2]
    out = np.full((len(rows) * (h + gap), max(map(len, rows)) * (w + gap),
                   3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            out[i * (h + gap):i * (h + gap) + h,
                j * (w + gap):j * (w + gap) + w] = cell
    return out


def colour_map(values: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """(h, w) values -> (H, W, 3) uint8 BGR (viridis, min-max scaled),
    each cell a block of pixels (nearest)."""
    v = values - values.min()
    v = (255 * v / max(float(v.max()), 1e-12)).astype(np.uint8)
    big = cv2.resize(v, size[::-1], interpolation=cv2.INTER_NEAREST)
    return cv2.applyColorMap(big, cv2.COLORMAP_VIRIDIS)


def render_panels(images: Sequence[np.ndarray], maps: Dict[str, np.ndarray],
                  size: Tuple[int, int]) -> Tuple[np.ndarray, List[str]]:
    """One row per image: the image, then each map of
    :func:`backbone_maps` upsampled to ``size`` (h, w). Returns the (rows *
    (h + 2), columns * (w + 2), 3) uint8 BGR picture and the column
    titles."""
    h, w = size
    titles = ['image'] + [k for k in ('pca', 'attention', 'shape_mask')
                          if k in maps]
    rows = []
    for i, img in enumerate(images):
        cells = [cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)]
        for key in titles[1:]:
            m = maps[key][i]
            if m.ndim == 3:  # the PCA's three components as RGB
                rgb = (255 * m).astype(np.uint8)[..., ::-1]
                cells.append(cv2.resize(rgb, (w, h),
                                        interpolation=cv2.INTER_NEAREST))
            else:
                cells.append(colour_map(m, size))
        rows.append(cells)
    return tile(rows), titles


def write_backbone_maps(backbone: nn.Module, images: Sequence[np.ndarray],
                        out: str, size: Tuple[int, int],
                        cell_size: Optional[Tuple[int, int]] = None
                        ) -> List[str]:
    """Compute the maps of ``images`` (uint8 BGR) at input ``size`` (h, w)
    and write the panels to ``out`` (PNG); returns the column titles."""
    maps = backbone_maps(backbone, images_to_batch(images, size))
    picture, titles = render_panels(images, maps, cell_size or size)
    if not cv2.imwrite(out, picture):
        raise OSError(f'could not write {out}')
    return titles
