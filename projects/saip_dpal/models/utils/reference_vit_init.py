"""The authors' initialisation of a ViT student."""
import math

import torch.nn as nn


def reference_vit_init(vit: nn.Module) -> None:
    """Initialise an mmpretrain ViT as both papers' reference code does.

    - every ``nn.Linear``: Xavier-uniform weight, zero bias;
    - every ``nn.LayerNorm``: weight 1, bias 0;
    - patch embedding: Xavier-uniform on the weight viewed as
      (C_out, C_in * p * p); its bias keeps PyTorch's convolution default
      ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``;
    - cls token N(0, 0.02); learned position embedding U[0, 1).

    mmpretrain's own initialisation differs (truncated normal positions,
    Kaiming patch embedding, N(0, 1e-6) MLP biases).
    """
    for m in vit.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
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
