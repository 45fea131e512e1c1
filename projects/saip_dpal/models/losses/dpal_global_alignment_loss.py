"""Global alignment loss of DPAL."""
from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS


@MODELS.register_module()
class DPALGlobalAlignLoss(nn.Module):
    """MSE between the teacher's global target and each student global output.

    For every student output: squared error averaged over channels, then
    over batch (and tokens); the result is averaged over the student outputs
    (the global view and each local view). Computed in fp32 with autocast
    disabled; the target is detached.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.

    Shapes:
        student: (B, 1, Ct) or a sequence of them; target: (B, 1, Ct)
        -> scalar.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: Union[torch.Tensor, Sequence[torch.Tensor]],
                target: torch.Tensor) -> torch.Tensor:
        students = [student] if isinstance(student, torch.Tensor) \
            else list(student)
        if not students:
            raise ValueError('no student output given')
        for s in students:
            if s.shape != target.shape:
                raise ValueError(f'student output {tuple(s.shape)} does not '
                                 f'match the target {tuple(target.shape)}')
        with torch.autocast(device_type=target.device.type, enabled=False):
            t = target.detach().float()
            loss = sum(F.mse_loss(s.float(), t) for s in students)
        return self.loss_weight * loss / len(students)
