"""Relation alignment loss of DPAL."""
from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS


def token_relation_log_softmax(tokens: torch.Tensor) -> torch.Tensor:
    """``log softmax(T T^T / sqrt(C))`` over the last axis, in fp32.

    (B, N, C) -> (B, N, N).
    """
    tokens = tokens.float()
    logits = torch.bmm(tokens, tokens.transpose(1, 2))
    return (logits / tokens.shape[-1]**0.5).log_softmax(dim=-1)


@MODELS.register_module()
class DPALRelationAlignLoss(nn.Module):
    """KL(teacher || student) between token relation distributions.

    Each token's relation to all tokens of its sequence is
    ``softmax(T T^T / sqrt(Ct))`` for the teacher tokens and likewise for
    the student's decoded tokens on the same (crowd) image. The KL
    divergence is summed over the last axis and averaged over tokens and
    batch; with several crowd outputs the losses are averaged. Computed in
    fp32 with autocast disabled, from log-probabilities (no ``log(0)``);
    the teacher side is detached.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.

    Shapes:
        student: (B, N, Ct) or a sequence of them; teacher: (B, N, Ct), or a
        sequence paired one to one with the student outputs (a single
        tensor is paired with every student output) -> scalar.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(
            self, student: Union[torch.Tensor, Sequence[torch.Tensor]],
            teacher: Union[torch.Tensor,
                           Sequence[torch.Tensor]]) -> torch.Tensor:
        students = [student] if isinstance(student, torch.Tensor) \
            else list(student)
        teachers = [teacher] * len(students) if isinstance(
            teacher, torch.Tensor) else list(teacher)
        if not students or len(students) != len(teachers):
            raise ValueError(f'{len(students)} student outputs for '
                             f'{len(teachers)} teacher outputs')
        loss = 0.
        with torch.autocast(device_type=students[0].device.type,
                            enabled=False):
            for s, t in zip(students, teachers):
                if s.shape != t.shape:
                    raise ValueError(f'student {tuple(s.shape)} does not '
                                     f'match the teacher {tuple(t.shape)}')
                log_t = token_relation_log_softmax(t.detach())
                log_s = token_relation_log_softmax(s)
                kl = F.kl_div(log_s, log_t, reduction='none', log_target=True)
                loss = loss + kl.sum(dim=-1).mean()
        return self.loss_weight * loss / len(students)
