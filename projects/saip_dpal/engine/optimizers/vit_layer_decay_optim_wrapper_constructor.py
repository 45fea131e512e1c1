"""Layer-wise lr decay for plain mmpretrain ``VisionTransformer`` backbones
inside mmseg segmentors and mmpose pose estimators.

mmseg's own ``LayerDecayOptimizerConstructor`` only recognises backbones
whose class name contains ``BEiT`` / ``MAE`` / ``ConvNeXt`` and raises
``NotImplementedError`` for ``VisionTransformer``; mmpose's
``LayerDecayOptimWrapperConstructor`` prints its settings as a raw dict on
every build. This one keys on the parameter names ``backbone.layers.N.`` of
mmpretrain's ViT; with ``no_decay_names=('pos_embed', )`` its groups are
mmpose's. It is registered in mmengine's root registry, so every
toolbox's scope finds it.
"""
from typing import List

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor

from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS

_EMBED_PREFIXES = ('backbone.cls_token', 'backbone.pos_embed',
                   'backbone.patch_embed', 'backbone.mask_token')
_NO_DECAY_NAMES = ('pos_embed', 'cls_token', 'mask_token')


def vit_layer_id(name: str, num_layers: int) -> int:
    """Depth of a parameter: 0 for the embeddings, ``i + 1`` for
    ``backbone.layers.i.``, ``num_layers + 1`` for everything else
    (final norm, neck, decode / auxiliary heads)."""
    if name.startswith(_EMBED_PREFIXES):
        return 0
    if name.startswith('backbone.layers.'):
        return int(name.split('.')[2]) + 1
    return num_layers + 1


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ViTLayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Parameter groups with lr ``base_lr * layer_decay_rate ** (num_layers
    + 1 - layer_id)`` (see :func:`vit_layer_id`) and no weight decay on 1-D
    parameters (biases, norms) and on the parameters named in
    ``no_decay_names``.

    ``paramwise_cfg``: ``num_layers`` (int, the backbone depth),
    ``layer_decay_rate`` (float) and optionally ``no_decay_names`` (the last
    parts of parameter names without weight decay; defaults to
    ``('pos_embed', 'cls_token', 'mask_token')``). Frozen parameters are
    left out. Each group carries ``param_names`` and ``lr_scale`` for
    inspection.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        self.num_layers = int(paramwise_cfg.pop('num_layers'))
        self.layer_decay_rate = float(paramwise_cfg.pop('layer_decay_rate'))
        self.no_decay_names = tuple(
            paramwise_cfg.pop('no_decay_names', _NO_DECAY_NAMES))
        # the remaining (default) paramwise options are not supported: the
        # grouping here replaces them
        if paramwise_cfg:
            raise ValueError('ViTLayerDecayOptimWrapperConstructor only takes '
                             'num_layers, layer_decay_rate and '
                             f'no_decay_names, got {sorted(paramwise_cfg)}')
        super().__init__(optim_wrapper_cfg, None)
        # truthy so that the parent's __call__ goes through add_params
        self.paramwise_cfg = dict(num_layers=self.num_layers,
                                  layer_decay_rate=self.layer_decay_rate,
                                  no_decay_names=self.no_decay_names)

    def add_params(self, params: List[dict], module: nn.Module,
                   **kwargs) -> None:
        base_lr = self.base_lr
        base_wd = self.base_wd or 0.
        groups = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            layer_id = vit_layer_id(name, self.num_layers)
            no_decay = (param.ndim == 1
                        or name.split('.')[-1] in self.no_decay_names)
            key = (layer_id, no_decay)
            if key not in groups:
                scale = self.layer_decay_rate**(self.num_layers + 1 -
                                                layer_id)
                groups[key] = dict(
                    params=[],
                    param_names=[],
                    lr=base_lr * scale,
                    lr_scale=scale,
                    weight_decay=0. if no_decay else base_wd)
            groups[key]['params'].append(param)
            groups[key]['param_names'].append(name)
        params.extend(groups[k] for k in sorted(groups))
        print_log(
            f'layer-wise lr decay {self.layer_decay_rate} over '
            f'{self.num_layers} layers: {len(groups)} parameter groups',
            logger='current')
