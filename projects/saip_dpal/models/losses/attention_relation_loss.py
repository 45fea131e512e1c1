"""Attention-relation loss of SAIP (MiniLM-style self-attention transfer)."""
from typing import Sequence, Union

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

#: one map, or the maps of one view (q.k and v.v), or one entry per view
Maps = Union[torch.Tensor, Sequence[Union[torch.Tensor,
                                          Sequence[torch.Tensor]]]]


def _per_view(maps: Maps) -> list:
    """A list with one tuple of maps per view."""
    if isinstance(maps, torch.Tensor):
        return [(maps, )]
    return [(m, ) if isinstance(m, torch.Tensor) else tuple(m) for m in maps]


@MODELS.register_module()
class AttentionRelationLoss(nn.Module):
    """KL(teacher || student) between attention (relation) maps.

    Each map is a row-stochastic (B, H, N, N) tensor, e.g.
    ``softmax(q k^T * scale)`` or ``softmax(v v^T * scale)`` of the last
    block. The KL divergence ``sum_j t_ij (log t_ij - log s_ij)`` is summed
    over the last axis and averaged over batch, heads and rows. The maps of
    one view are **added** (q.k term + v.v term) and the views are averaged,
    as the reference does: with two views and two relations the loss is
    ``(KL_qk(g1) + KL_vv(g1) + KL_qk(g2) + KL_vv(g2)) / 2``. Computed in
    fp32 with autocast disabled; the teacher side is detached.

    Inputs are probabilities by default: ``0 * log 0`` counts as 0 and the
    student's probabilities are clamped to ``eps`` before the log, so zeros
    give finite values (the reference adds 1e-10 to both sides instead; the
    two agree to ~1e-9 on softmax maps). With ``log_input=True`` both
    inputs are log-probabilities (``log_softmax`` outputs), which is exact.

    Args:
        log_input (bool): Inputs are log-probabilities. Defaults to False.
        eps (float): Clamp of the student probabilities. Defaults to 1e-8.
        loss_weight (float): Weight of the loss. Defaults to 1.0.

    Call as ``loss(teacher, student)`` with two (B, H, N, N) tensors, or two
    equally long sequences with one entry per view: a map, or a tuple of
    the view's maps (paired one to one with the student's). Returns a
    scalar (fp32).
    """

    def __init__(self,
                 log_input: bool = False,
                 eps: float = 1e-8,
                 loss_weight: float = 1.0):
        super().__init__()
        self.log_input = log_input
        self.eps = eps
        self.loss_weight = loss_weight

    def kl(self, teacher: torch.Tensor, student: torch.Tensor) -> torch.Tensor:
        """Mean over (B, H, N) of KL(t || s) summed over the last axis."""
        if teacher.shape != student.shape:
            raise ValueError(f'teacher map {tuple(teacher.shape)} does not '
                             f'match the student map {tuple(student.shape)}')
        t = teacher.detach().float()
        s = student.float()
        if self.log_input:
            kl = t.exp() * (t - s)
        else:
            kl = torch.xlogy(t, t) - t * s.clamp_min(self.eps).log()
        return kl.sum(dim=-1).mean()

    def forward(self, teacher: Maps, student: Maps) -> torch.Tensor:
        teachers, students = _per_view(teacher), _per_view(student)
        if not students or len(teachers) != len(students) or any(
                len(t) != len(s) for t, s in zip(teachers, students)):
            raise ValueError(
                f'teacher maps {[len(t) for t in teachers]} per view do not '
                f'pair with student maps {[len(s) for s in students]}')
        with torch.autocast(
                device_type=students[0][0].device.type, enabled=False):
            loss = sum(
                sum(self.kl(t, s) for t, s in zip(tv, sv))
                for tv, sv in zip(teachers, students)) / len(students)
        return self.loss_weight * loss
