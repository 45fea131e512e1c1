"""Optional ``torch.compile`` of the transformer blocks of a student or
teacher, chosen in the model config."""
from typing import Dict, Union

import numpy as np
import torch.nn as nn
from mmpretrain.models.backbones.swin_transformer import SwinBlock
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer

#: the blocks compiled: a ViT's (and SAIP's decoder's) and a Swin's
BLOCK_TYPES = (TransformerEncoderLayer, SwinBlock)


def parse_compile(compile: Union[bool, dict, None],
                  parts: tuple) -> Dict[str, dict]:
    """``{part: torch.compile options}`` for the parts to compile.

    ``compile`` is False / None (nothing), True (every part in ``parts``,
    default options) or a dict: a bool per part (missing parts stay eager)
    and any other key a ``torch.compile`` option (``mode``, ``backend``,
    ``dynamic``, ``fullgraph``), e.g.
    ``dict(student=True, teacher=True, mode='max-autotune')``.
    """
    if not compile:
        return {}
    if compile is True:
        return {part: {} for part in parts}
    if not isinstance(compile, dict):
        raise TypeError(f'compile must be a bool or a dict, got {compile!r}')
    options = {k: v for k, v in compile.items() if k not in parts}
    chosen = [p for p in parts if compile.get(p, False)]
    if not chosen:
        raise ValueError(f'compile={compile!r} names none of {parts}')
    return {part: options for part in chosen}


def compile_blocks(module: nn.Module, **options) -> int:
    """``torch.compile`` each transformer block in ``module`` in place
    (``nn.Module.compile``: names, state dict and hooks stay as they are;
    the code between blocks stays eager). Returns the number compiled."""
    blocks = [m for m in module.modules() if isinstance(m, BLOCK_TYPES)]
    if not blocks:
        raise ValueError(f'{type(module).__name__} has no transformer '
                         'block to compile')
    for block in blocks:
        for m in block.modules():
            # mmpretrain's drop-path rates are numpy scalars, which dynamo
            # traces as arrays: `if drop_prob == 0.` would break the graph
            if isinstance(getattr(m, 'drop_prob', None), np.generic):
                m.drop_prob = float(m.drop_prob)
        block.compile(**options)
    return len(blocks)
