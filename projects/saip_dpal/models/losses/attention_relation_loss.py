"""Attention-relation loss of SAIP (MiniLM-style self-attention transfer)."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

Maps = Union[torch.Tensor, Sequence[torch.Tensor]]


@MODELS.register_module()
class AttentionRelationLoss(nn.Module):
    """KL(teacher || student) between attention (relation) maps.

    Each map is a row-stochastic (B, H, N, N) tensor, e.g.
    ``softmax(q k^T * scale)`` or ``softmax(v v^T * scale)`` of the last
    block. The KL divergence ``sum_j t_ij (log t_ij - log s_ij)`` is summed
    over the last axis and averaged over batch, heads and rows; several map
    pairs (qk and vv of each same-view pair) are averaged. Computed in fp32
    with autocast disabled; the teacher side is detached.

    Inputs are probabilities by default: ``0 * log 0`` counts as 0 and the
    student's probabilities are clamped to ``eps`` before the log, so zeros
    give finite values. With ``log_input=True`` both inputs are
    log-probabilities (``log_softmax`` outputs), which is exact.

    Args:
        log_input (bool): Inputs are log-probabilities. Defaults to False.
        eps (float): Clamp of the student probabilities. Defaults to 1e-8.
        loss_weight (float): Weight of the loss. Defaults to 1.0.

    Call either as ``loss(teacher, student)`` with two (B, H, N, N) tensors
    or two equally long sequences of them (paired one to one), or as
    ``loss(pairs)`` with a sequence of ``(teacher, student)`` tuples.
    Returns a scalar (fp32).
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

    def forward(self,
                teacher: Union[Maps, Sequence[Tuple[torch.Tensor,
                                                    torch.Tensor]]],
                student: Optional[Maps] = None) -> torch.Tensor:
        if student is None:
            pairs = [tuple(p) for p in teacher]
        elif isinstance(teacher, torch.Tensor):
            pairs = [(teacher, student)]
        else:
            teacher, student = list(teacher), list(student)
            if len(teacher) != len(student):
                raise ValueError(f'{len(teacher)} teacher maps for '
                                 f'{len(student)} student maps')
            pairs = list(zip(teacher, student))
        if not pairs or any(len(p) != 2 for p in pairs):
            raise ValueError('expected one or more (teacher, student) pairs')
        with torch.autocast(
                device_type=pairs[0][1].device.type, enabled=False):
            loss = sum(self.kl(t, s) for t, s in pairs) / len(pairs)
        return self.loss_weight * loss
