"""bf16 for a teacher that needs no gradient, where the device has it."""
import contextlib
import functools
from typing import Optional

import torch

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


def teacher_autocast(dtype: Optional[str], device: str):
    """bf16 autocast when ``dtype == 'bfloat16'`` and ``device`` computes
    bf16 natively; otherwise nothing changes (the step's precision)."""
    if dtype is None or not fast_bfloat16(device):
        return contextlib.nullcontext()
    return torch.autocast(device, dtype=torch.bfloat16)


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
