"""SAIP's cross-scale reconstruction (CSR) head: decoder and pixel loss."""
from typing import Dict, Optional, Sequence

import torch
from mmpretrain.models.heads import MAEPretrainHead
from mmpretrain.registry import MODELS


@MODELS.register_module()
class SAIPReconstructionHead(MAEPretrainHead):
    """The reconstruction decoder and an ``MAEPretrainHead`` loss for images
    of any multiple of the patch size.

    :meth:`loss` decodes the kept tokens of the masked view conditioned on
    the other view's cls token (``decoder``) and scores the pixels of the
    removed patches. mmpretrain's head only patchifies square images; this
    one patchifies (B, C, H, W) on its (H / p, W / p) grid (row-major, like
    the ViT), with the same per-patch pixel normalisation (``norm_pix``)
    and the same masked loss: ``PixelReconstructionLoss`` L2 averages the
    per-patch MSE over the patches with mask 1 (removed) only.

    Args:
        decoder (dict): :class:`SAIPReconstructionDecoder`.
        loss (dict): Loss config. Defaults to
            ``dict(type='PixelReconstructionLoss', criterion='L2')``.
        norm_pix (bool): Normalise each target patch to zero mean and unit
            variance. Defaults to True.
        patch_size (int): Patch size p. Defaults to 16.
        in_channels (int): Image channels C. Defaults to 3.
        loss_weight (float): Weight of ``loss_csr``. Defaults to 1.0.

    Shapes:
        ``pixel_loss(pred (B, L, p*p*C), target (B, C, H, W), mask (B, L))``
        -> ().
    """

    def __init__(self,
                 decoder: dict,
                 loss: dict = dict(
                     type='PixelReconstructionLoss', criterion='L2'),
                 norm_pix: bool = True,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 loss_weight: float = 1.0) -> None:
        super().__init__(
            loss=loss,
            norm_pix=norm_pix,
            patch_size=patch_size,
            in_channels=in_channels)
        self.decoder = MODELS.build(decoder)
        self.loss_weight = loss_weight

    def patchify(self, imgs: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, h * w, p * p * C), channel-last in a patch."""
        p = self.patch_size
        B, C, H, W = imgs.shape
        if H % p or W % p or C != self.in_channels:
            raise ValueError(f'cannot patchify {tuple(imgs.shape)} with '
                             f'patch {p} and {self.in_channels} channels')
        h, w = H // p, W // p
        x = imgs.reshape(B, C, h, p, w, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(B, h * w, p * p * C)

    def unpatchify(self,
                   x: torch.Tensor,
                   grid: Optional[Sequence[int]] = None) -> torch.Tensor:
        """(B, h * w, p * p * C) -> (B, C, h * p, w * p); ``grid`` (h, w)
        defaults to a square grid."""
        p, C = self.patch_size, self.in_channels
        B, L, _ = x.shape
        if grid is None:
            h = w = int(round(L**.5))
        else:
            h, w = grid
        if h * w != L:
            raise ValueError(f'{L} patches do not form a {h}x{w} grid')
        x = x.reshape(B, h, w, p, p, C).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(B, C, h * p, w * p)

    def loss(self, visible: torch.Tensor, context_cls: torch.Tensor,
             ids_restore: torch.Tensor, target: torch.Tensor,
             mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``loss_csr``: decode (``visible``, ``context_cls`` and
        ``ids_restore`` as :meth:`SAIPReconstructionDecoder.forward` takes
        them) and score the removed patches of ``target`` (B, C, H, W)
        (``mask`` (B, L), 1 removed)."""
        grid = tuple(s // self.patch_size for s in target.shape[-2:])
        pred = self.decoder(visible, context_cls, ids_restore, grid)
        return dict(
            loss_csr=self.loss_weight * self.pixel_loss(pred, target, mask))

    def pixel_loss(self, pred: torch.Tensor, target: torch.Tensor,
                   mask: torch.Tensor) -> torch.Tensor:
        """Mean squared error over the removed patches (mask 1).

        Args:
            pred (Tensor): (B, L, p * p * C) predictions in grid order.
            target (Tensor): (B, C, H, W) images with (H / p) * (W / p) = L.
            mask (Tensor): (B, L), 1 removed, 0 kept.
        """
        target = self.construct_target(target)
        if pred.shape != target.shape:
            raise ValueError(f'predictions {tuple(pred.shape)} do not match '
                             f'the target patches {tuple(target.shape)}')
        return self.loss_module(pred, target, mask)
