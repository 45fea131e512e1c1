"""Cross-scale matching (CSM) loss of SAIP: DINO's loss with centering."""
from typing import Sequence

import torch
import torch.nn as nn
from mmengine import dist
from mmpretrain.registry import MODELS


@MODELS.register_module()
class CrossScaleMatchingLoss(nn.Module):
    """Cross-entropy between centred, sharpened teacher and student outputs.

    The teacher sees the first ``len(teacher_out)`` student views (g1, g2).
    For every pair (teacher view i, student view j) with ``i != j``::

        l_ij = mean_b sum_k -softmax((t_i - center) / teacher_temp)_bk
                            * log_softmax(s_j / student_temp)_bk

    and the loss is the mean of ``l_ij`` over those pairs. Afterwards the
    ``center`` buffer (1, K) is updated without gradient:
    ``center = m * center + (1 - m) * mean(teacher outputs)``, where the mean
    over the local batch of all teacher views is averaged across processes
    (``mmengine.dist.all_reduce``; a no-op in a single process). The loss
    uses the center from before the update.

    Softmaxes, centering and loss are computed in fp32 with autocast
    disabled; the teacher side is detached. ``teacher_temp`` is a plain
    attribute (``TeacherTemperatureHook`` schedules it).

    Args:
        out_channels (int): K, the projection head's output size.
            Defaults to 65536.
        student_temp (float): Student temperature. Defaults to 0.1.
        teacher_temp (float): Teacher temperature. Defaults to 0.04.
        center_momentum (float): EMA momentum m of the center.
            Defaults to 0.9.
        loss_weight (float): Weight of the loss. Defaults to 1.0.

    Shapes:
        student_out: sequence of (B, K), one per student view;
        teacher_out: sequence of (B, K), one per teacher view -> scalar.
    """

    def __init__(self,
                 out_channels: int = 65536,
                 student_temp: float = 0.1,
                 teacher_temp: float = 0.04,
                 center_momentum: float = 0.9,
                 loss_weight: float = 1.0):
        super().__init__()
        self.out_channels = out_channels
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp
        self.center_momentum = center_momentum
        self.loss_weight = loss_weight
        self.register_buffer('center', torch.zeros(1, out_channels))

    def forward(self,
                student_out: Sequence[torch.Tensor],
                teacher_out: Sequence[torch.Tensor],
                update_center: bool = True) -> torch.Tensor:
        """Loss over cross-view pairs; updates the center if asked.

        Args:
            student_out (Sequence[Tensor]): Student outputs (B, K) per view;
                view i < len(teacher_out) is the teacher's view i.
            teacher_out (Sequence[Tensor]): Teacher outputs (B, K) per view.
            update_center (bool): Update the center after computing the
                loss. Defaults to True.

        Returns:
            Tensor: Scalar loss (fp32).
        """
        n_s, n_t = len(student_out), len(teacher_out)
        if n_t == 0 or n_s < n_t or (n_s == 1 and n_t == 1):
            raise ValueError(f'{n_s} student views and {n_t} teacher views '
                             'give no cross-view pair (the teacher views '
                             'must be the first student views)')
        with torch.autocast(
                device_type=student_out[0].device.type, enabled=False):
            student = torch.stack([s.float() for s in student_out])
            teacher = torch.stack([t.detach().float() for t in teacher_out])
            if student.shape[1:] != teacher.shape[1:] or \
                    student.shape[-1] != self.out_channels:
                raise ValueError(
                    f'student views {tuple(student.shape[1:])} and teacher '
                    f'views {tuple(teacher.shape[1:])} must both be '
                    f'(B, {self.out_channels})')
            log_p_s = (student / self.student_temp).log_softmax(dim=-1)
            p_t = ((teacher - self.center) / self.teacher_temp).softmax(dim=-1)
            # cross[i, j] = mean_b sum_k -p_t[i] * log_p_s[j]: (n_t, n_s)
            cross = -torch.einsum('ibk,jbk->ij', p_t,
                                  log_p_s) / student.shape[1]
            # the mean over i != j, without a boolean index (a host sync)
            loss = (cross.sum() - cross.diagonal().sum()) / (n_t * n_s - n_t)
            if update_center:
                self.update_center(teacher)
        return self.loss_weight * loss

    @torch.no_grad()
    def update_center(self, teacher: torch.Tensor) -> None:
        """EMA update of the center from teacher outputs (..., K).

        The mean over all local rows is averaged across processes (equal
        batch sizes per process, as DINO assumes).
        """
        rows = teacher.detach().float().reshape(-1, self.out_channels)
        batch_center = rows.mean(dim=0, keepdim=True)
        dist.all_reduce(batch_center, op='mean')
        self.center.mul_(self.center_momentum).add_(
            batch_center, alpha=1 - self.center_momentum)
