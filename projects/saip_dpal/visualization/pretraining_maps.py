"""Pictures of a pretraining model at work on its own views: DPAL's shape
masks, SAIP's search maps on the crowd view and its reconstructions."""
from typing import Dict, List, Sequence

import cv2
import numpy as np
import torch

from ..models.utils.anchor_mask import anchor_keep_ids
from ..models.utils.shape_mask import pca_shape_mask
from .backbone_maps import MEAN, STD, colour_map, tile


def to_images(batch: torch.Tensor) -> List[np.ndarray]:
    """Normalised RGB (B, 3, H, W) -> uint8 BGR images (H, W, 3)."""
    x = batch.detach().float().permute(0, 2, 3, 1).cpu().numpy()
    x = np.clip(x * STD + MEAN, 0, 255).astype(np.uint8)
    return [np.ascontiguousarray(img[..., ::-1]) for img in x]


def overlay(image: np.ndarray, values: np.ndarray,
            alpha: float = 0.5) -> np.ndarray:
    """``image`` blended with the viridis ``values`` (h, w) upsampled."""
    return cv2.addWeighted(image, 1 - alpha,
                           colour_map(values, image.shape[:2]), alpha, 0)


@torch.no_grad()
def dpal_shape_masks(model, views: Dict) -> List[List[np.ndarray]]:
    """Per sample: the global view, the teacher's shape mask (its batch
    PCA, as the local alignment uses it) and the two blended."""
    tokens, grid = model.teacher_tokens(views['global'])
    mask = pca_shape_mask(tokens[:, 1:], grid, sign=model.shape_mask_sign)
    mask = mask.reshape(-1, *grid).cpu().numpy()
    return [[img, colour_map(m, img.shape[:2]), overlay(img, m)]
            for img, m in zip(to_images(views['global']), mask)]


@torch.no_grad()
def saip_search_maps(model, views: Dict,
                     data_samples: Sequence) -> List[List[np.ndarray]]:
    """Per sample: the crowd view with the paste boxes (region green,
    pasted local blue), and the search probabilities of the global view
    (instance) and of the pasted local (ROI) over it."""
    backbone = model.backbone
    queries = [backbone.forward_tokens(views[name], inter_only=True)['inter']
               for name in ('global', 'pasted_local')]
    search = model.momentum_encoder.module.backbone.forward_tokens(
        views['crowd'], inter_only=True)
    logits = model.search_head(queries, search['inter'], search['grid'])
    rows = []
    for i, img in enumerate(to_images(views['crowd'])):
        boxed = img.copy()
        for name, colour in (('region', (0, 200, 0)),
                             ('pasted_local', (255, 80, 0))):
            box = data_samples[i].paste_boxes[name]
            x1, y1, x2, y2 = (int(v) for v in box)
            cv2.rectangle(boxed, (x1, y1), (x2 - 1, y2 - 1), colour, 1)
        rows.append([boxed] + [
            overlay(img, out[i].sigmoid().cpu().numpy(), 0.6)
            for out in logits
        ])
    return rows


@torch.no_grad()
def saip_reconstructions(model, views: Dict) -> List[List[np.ndarray]]:
    """Per sample: the upscaled second global view, what the encoder sees of
    it (removed patches grey) and the decoder's reconstruction of the
    removed patches (de-normalised with each target patch's own mean and
    variance when the loss normalises them, as MAE shows it)."""
    g1, g2 = views['global'], views['global_2']
    g2_up = model._resize(g2, model.csr_scale)
    head = model.reconstruction_head
    s_g1 = model.backbone.forward_tokens(g1, inter_only=True)
    grid = tuple(s // model.patch_size for s in g2_up.shape[-2:])
    keep_ids, mask, ids_restore = anchor_keep_ids(
        g1.shape[0], s_g1['grid'], grid, keep_ratio=1 - model.mask_ratio,
        device=g1.device)
    visible = model.backbone.forward_tokens(
        g2_up, keep_ids=keep_ids, inter_only=True)['inter']
    pred = head.decoder(visible, s_g1['inter'][:, :1], ids_restore, grid)
    target = head.patchify(g2_up)
    if head.norm_pix:
        mean = target.mean(-1, keepdim=True)
        std = (target.var(-1, keepdim=True) + 1e-6)**.5
        pred = pred * std + mean
    removed = mask.unsqueeze(-1).to(target.dtype)
    grey = torch.zeros_like(target)  # the mean colour after normalising
    seen = head.unpatchify(removed * grey + (1 - removed) * target, grid)
    shown = head.unpatchify(removed * pred + (1 - removed) * target, grid)
    return [list(row) for row in zip(
        to_images(g2_up), to_images(seen), to_images(shown))]


def write_pretraining_maps(model, views: Dict, data_samples: Sequence,
                           out_prefix: str) -> List[str]:
    """Write the pictures of the model's method: DPAL
    ``<out_prefix>shape_masks.png``, SAIP ``<out_prefix>search_maps.png``
    and ``<out_prefix>reconstructions.png``; returns the paths."""
    model.eval()
    name = type(model).__name__
    if name == 'DPAL':
        pictures = dict(shape_masks=dpal_shape_masks(model, views))
    elif name == 'SAIP':
        pictures = dict(search_maps=saip_search_maps(model, views,
                                                     data_samples),
                        reconstructions=saip_reconstructions(model, views))
    else:
        raise ValueError(f'no pictures for a {name} model')
    paths = []
    for key, rows in pictures.items():
        paths.append(f'{out_prefix}{key}.png')
        if not cv2.imwrite(paths[-1], tile(rows)):
            raise OSError(f'could not write {paths[-1]}')
    return paths
