"""The authors' initialisation of students and heads."""
import math

import torch.nn as nn


def xavier_init(module: nn.Module, convs: bool = False) -> None:
    """Xavier-uniform weights and zero biases for every ``nn.Linear`` (and
    the weights of every ``nn.Conv2d`` with ``convs``, whose biases keep
    PyTorch's default), weight 1 / bias 0 for every ``nn.LayerNorm``: the
    rule both papers' code applies to its models and heads."""
    layers = (nn.Linear, nn.Conv2d) if convs else (nn.Linear, )
    for m in module.modules():
        if isinstance(m, layers):
            nn.init.xavier_uniform_(m.weight)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def reference_vit_init(vit: nn.Module) -> None:
    """Initialise an mmpretrain ViT as both papers' reference code does.

    - :func:`xavier_init` of every linear and LayerNorm;
    - patch embedding: Xavier-uniform on the weight viewed as
      (C_out, C_in * p * p); its bias keeps PyTorch's convolution default
      ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``;
    - cls token N(0, 0.02); learned position embedding U[0, 1).

    mmpretrain's own initialisation differs (truncated normal positions,
    Kaiming patch embedding, N(0, 1e-6) MLP biases).
    """
    xavier_init(vit)
    proj = vit.patch_embed.projection
    nn.init.xavier_uniform_(proj.weight.view(proj.weight.shape[0], -1))
    if proj.bias is not None:
        bound = 1 / math.sqrt(proj.weight[0].numel())
        nn.init.uniform_(proj.bias, -bound, bound)
    if getattr(vit, 'cls_token', None) is not None:
        nn.init.normal_(vit.cls_token, std=.02)
    if getattr(vit, 'pos_embed', None) is not None:
        nn.init.uniform_(vit.pos_embed, 0., 1.)


def is_pretrained(module: nn.Module) -> bool:
    """Whether ``module`` starts from a ``Pretrained`` init_cfg."""
    cfgs = getattr(module, 'init_cfg', None) or []
    cfgs = [cfgs] if isinstance(cfgs, dict) else cfgs
    return any(c.get('type') == 'Pretrained' for c in cfgs)


BACKBONE_INITS = ('reference', 'default')


def check_backbone_init(mode: str) -> str:
    """``mode`` if it is one of :data:`BACKBONE_INITS`, else ValueError."""
    if mode not in BACKBONE_INITS:
        raise ValueError(f'backbone_init must be one of {BACKBONE_INITS}, '
                         f'got {mode!r}')
    return mode


def init_backbone(backbone: nn.Module, mode: str) -> None:
    """Apply :func:`reference_vit_init` when ``mode`` is ``'reference'``,
    the backbone is a ViT (it has ``pos_embed``) and it does not start from
    a ``Pretrained`` init_cfg; otherwise keep its own initialisation."""
    if (check_backbone_init(mode) == 'reference'
            and hasattr(backbone, 'pos_embed')
            and not is_pretrained(backbone)):
        reference_vit_init(backbone)
