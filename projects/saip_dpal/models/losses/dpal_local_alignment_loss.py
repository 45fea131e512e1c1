"""Local (shape-masked patch) alignment loss of DPAL."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS


@MODELS.register_module()
class DPALLocalAlignLoss(nn.Module):
    """MSE between the masked student patch tokens and the local target.

    ``mean((mask * student - target) ** 2)`` over channels, tokens and batch,
    where ``target = mask * teacher_patch_tokens`` is the local target built
    with the same shape mask. Computed in fp32 with autocast disabled; the
    target and the mask are detached.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.

    Shapes:
        student: (B, Np, Ct); target: (B, Np, Ct); mask: (B, Np, 1)
        -> scalar.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor, target: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        if student.shape != target.shape:
            raise ValueError(f'student {tuple(student.shape)} does not match '
                             f'the target {tuple(target.shape)}')
        with torch.autocast(device_type=student.device.type, enabled=False):
            masked = mask.detach().float() * student.float()
            loss = F.mse_loss(masked, target.detach().float())
        return self.loss_weight * loss
