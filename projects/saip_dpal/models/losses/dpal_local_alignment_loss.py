"""Local (shape-masked patch) alignment loss of DPAL."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS


@MODELS.register_module()
class DPALLocalAlignLoss(nn.Module):
    """MSE between the student and teacher patch tokens under the shape mask.

    ``mean((mask * student - mask * teacher) ** 2)`` over channels, tokens
    and batch (``mask * teacher`` is DPAL's local target). Computed in fp32
    with autocast disabled; the teacher tokens and the mask are detached.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.

    Shapes:
        student: (B, Np, Ct); teacher: (B, Np, Ct); mask: (B, Np, 1)
        -> scalar.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor, teacher: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        if student.shape != teacher.shape:
            raise ValueError(f'student {tuple(student.shape)} does not match '
                             f'the teacher {tuple(teacher.shape)}')
        with torch.autocast(device_type=student.device.type, enabled=False):
            mask = mask.detach().float()
            loss = F.mse_loss(mask * student.float(),
                              mask * teacher.detach().float())
        return self.loss_weight * loss
