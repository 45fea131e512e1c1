"""bf16 for a teacher that needs no gradient, where the device has it."""
import contextlib
import functools
from typing import Optional

import torch
import torch.nn as nn

TEACHER_DTYPES = (None, 'bfloat16')


@functools.lru_cache(maxsize=None)
def fast_bfloat16(device: str) -> bool:
    """Whether ``device`` ('cuda' / 'cpu') computes in bf16 natively."""
    if device == 'cuda':
        return torch.cuda.is_bf16_supported()
    return device == 'cpu' and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def check_teacher_dtype(value: Optional[str]) -> Optional[str]:
    if value not in TEACHER_DTYPES:
        raise ValueError("teacher_dtype must be None or 'bfloat16', got "
                         f'{value!r}')
    return value


def uses_bfloat16(dtype: Optional[str], device: str) -> bool:
    """Whether a teacher with ``teacher_dtype=dtype`` runs in bf16 on
    ``device``: only where the device computes bf16 natively."""
    return dtype == 'bfloat16' and fast_bfloat16(device)


def teacher_autocast(dtype: Optional[str], device: str):
    """bf16 autocast when :func:`uses_bfloat16`; otherwise nothing changes
    (the step's precision)."""
    if not uses_bfloat16(dtype, device):
        return contextlib.nullcontext()
    return torch.autocast(device, dtype=torch.bfloat16)


def store_matmul_weights_in_bfloat16(module: nn.Module) -> None:
    """Keep the weights and biases of ``module``'s linear and convolution
    layers in bf16, in place, for a frozen module run under bf16 autocast.

    Autocast casts exactly these to bf16 on every call (the same rounding),
    so outputs do not change; the fp32 copies and the per-call casts go.
    Norm layers, position tables and tokens stay fp32.
    """
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            m.to(torch.bfloat16)


def as_float32(outputs):
    """``outputs`` (a tensor, or dicts / lists / tuples of them) with its
    floating tensors in fp32."""
    if torch.is_tensor(outputs):
        return outputs.float() if outputs.is_floating_point() else outputs
    if isinstance(outputs, dict):
        return {k: as_float32(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(as_float32(v) for v in outputs)
    return outputs
