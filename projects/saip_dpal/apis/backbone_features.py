"""Features of an extracted backbone file: cls and patch features of images.

``load_backbone(FILE)`` builds the architecture the file records
(``meta['backbone']``, written by ``extract_backbone.py``) and loads every
weight into it; :func:`extract_features` runs it on images. The same
:class:`BackboneFeatures` module is what ``tools/deployment/pytorch2onnx.py``
exports.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from ..utils.errors import InputDataError
from ..utils.image_folder import find_images

#: both methods pretrain on RGB images normalised with ImageNet statistics
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


class BackboneFeatures(nn.Module):
    """An mmpretrain ViT or Swin as ``images (B, 3, H, W) -> (cls (B, C),
    patch (B, C, h, w))``.

    ViT: the cls token and the patch tokens after the final norm. Swin: the
    normalised last-stage map and its average (the token DPAL aligns).
    """

    def __init__(self, backbone: nn.Module, input_size: Tuple[int, int]):
        super().__init__()
        self.backbone = backbone
        self.input_size = tuple(input_size)
        self.is_vit = hasattr(backbone, 'cls_token')

    def forward(self, images: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        out = self.backbone(images)[-1]
        if not self.is_vit:
            return out.mean(dim=(2, 3)), out
        patch = self.backbone.patch_embed.projection.stride[0]
        h, w = images.shape[2] // patch, images.shape[3] // patch
        cls, tokens = out[:, 0], out[:, 1:]
        return cls, tokens.transpose(1, 2).reshape(out.shape[0], -1, h, w)


def load_backbone(path: str,
                  img_size: Optional[Tuple[int, int]] = None
                  ) -> BackboneFeatures:
    """The backbone of an extracted file, all weights loaded, in eval mode.

    Args:
        path: a file of ``extract_backbone.py`` (it records the
            architecture).
        img_size: (h, w) input of a ViT; its position embedding is resized
            from the recorded grid. Defaults to the recorded size.

    Raises:
        InputDataError: the file is unreadable, records no architecture, or
            its weights do not fit it (one line).
    """
    from ..engine.strict_pretrained_init import load_all_weights
    from ..utils.untrusted_files import read_backbone_file
    where = f'backbone file {os.fspath(path)}'
    state, recorded = read_backbone_file(path)
    if not isinstance(recorded, dict) or 'type' not in recorded:
        raise InputDataError(
            f'{where} records no architecture (meta["backbone"]); extract '
            'it with tools/model_converters/extract_backbone.py')
    model = build_features_model(recorded, img_size, where)
    load_all_weights(model.backbone, dict(state), recorded, where)
    return model


def build_features_model(arch: dict,
                         img_size: Optional[Tuple[int, int]] = None,
                         where: str = 'backbone') -> BackboneFeatures:
    """A :class:`BackboneFeatures` (eval mode, weights as built) of a
    recorded architecture ``arch`` (:func:`build_recorded_backbone`): a ViT
    with raw last-block tokens at ``img_size`` (default: the recorded size),
    or a Swin's last stage."""
    from ..utils.untrusted_files import (build_recorded_backbone,
                                         recorded_backbone_cfg)
    arch = recorded_backbone_cfg(arch, where)
    kind = arch['type']
    if kind == 'VisionTransformer':
        extra = dict(out_type='raw', out_indices=-1)
        if img_size is not None:
            extra['img_size'] = tuple(img_size)
    elif kind == 'SwinTransformer':
        extra = dict(out_indices=(3, ))
    else:
        extra = {}
    backbone = build_recorded_backbone(arch, where, **extra)
    size = extra.get('img_size', arch.get('img_size', 224))
    model = BackboneFeatures(backbone, (size, size) if isinstance(
        size, int) else size)
    model.eval()
    return model


def image_files(inputs: Sequence[str]) -> List[str]:
    """Image paths: files as given, folders expanded (sorted, recursive)."""
    files = []
    for item in inputs:
        if osp.isdir(item):
            files += find_images(item)
        elif osp.isfile(item):
            files.append(item)
        else:
            raise InputDataError(f'{item}: no such image file or folder')
    if not files:
        raise InputDataError(f'no images in {", ".join(inputs)}')
    return files


def image_batch(images: Sequence[Union[str, np.ndarray]],
                size: Tuple[int, int],
                mean=MEAN,
                std=STD) -> torch.Tensor:
    """(N, 3, h, w) float batch: BGR files or arrays resized to ``size``
    (h, w) (bicubic, as the downstream test pipelines), as RGB,
    normalised."""
    import cv2
    out = np.empty((len(images), size[0], size[1], 3), np.float32)
    for i, image in enumerate(images):
        if isinstance(image, str):
            path, image = image, cv2.imread(image, cv2.IMREAD_COLOR)
            if image is None:
                raise InputDataError(f'{path}: not an image OpenCV can read')
        image = cv2.resize(image, (size[1], size[0]),
                           interpolation=cv2.INTER_CUBIC)
        out[i] = image[..., ::-1]
    out = (out - np.float32(mean)) / np.float32(std)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


@torch.no_grad()
def extract_features(model: BackboneFeatures,
                     images: Sequence[Union[str, np.ndarray]],
                     batch_size: int = 32) -> Dict[str, torch.Tensor]:
    """``{'cls': (N, C), 'patch': (N, C, h, w)}`` of ``images`` (paths or
    BGR arrays) at the model's input size."""
    device = next(model.parameters()).device
    cls, patch = [], []
    for start in range(0, len(images), batch_size):
        batch = image_batch(images[start:start + batch_size],
                            model.input_size).to(device)
        c, p = model(batch)
        cls.append(c.cpu())
        patch.append(p.cpu())
    return dict(cls=torch.cat(cls), patch=torch.cat(patch))
