"""Relation alignment loss of DPAL."""
from typing import Sequence, Union

import torch
from mmpretrain.registry import MODELS

from .attention_relation_loss import AttentionRelationLoss


def token_relation_log_softmax(tokens: torch.Tensor) -> torch.Tensor:
    """``log softmax(T T^T / sqrt(C))`` over the last axis, in fp32.

    (B, N, C) -> (B, N, N).
    """
    tokens = tokens.float()
    logits = torch.bmm(tokens, tokens.transpose(1, 2))
    return (logits / tokens.shape[-1]**0.5).log_softmax(dim=-1)


@MODELS.register_module()
class DPALRelationAlignLoss(AttentionRelationLoss):
    """KL(teacher || student) between token relation distributions.

    Each token's relation to all tokens of its sequence is
    ``softmax(T T^T / sqrt(Ct))`` for the teacher tokens and likewise for
    the student's decoded tokens on the same (crowd) image; the KL is
    :class:`AttentionRelationLoss`'s on these maps as log-probabilities
    (summed over the last axis, averaged over tokens and batch, averaged
    over several crowd outputs; fp32 with autocast disabled, the teacher
    side detached).

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.

    Shapes:
        student: (B, N, Ct) or a sequence of them; teacher: (B, N, Ct), or a
        sequence paired one to one with the student outputs (a single
        tensor is paired with every student output) -> scalar.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__(log_input=True, loss_weight=loss_weight)

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
        for s, t in zip(students, teachers):
            if s.shape != t.shape:
                raise ValueError(f'student {tuple(s.shape)} does not '
                                 f'match the teacher {tuple(t.shape)}')
        with torch.autocast(device_type=students[0].device.type,
                            enabled=False):
            return super().forward(
                [token_relation_log_softmax(t.detach()) for t in teachers],
                [token_relation_log_softmax(s) for s in students])
