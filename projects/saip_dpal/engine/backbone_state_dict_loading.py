"""Backbone files load into the ``backbone`` of a whole model.

A file written by ``extract_backbone.py`` has the keys of a bare backbone
(``patch_embed.projection.weight``); a whole model (an mmpretrain
classifier, DPAL / SAIP, an mmpose or mmseg model) calls them
``backbone.patch_embed.projection.weight``. mmengine's checkpoint loading,
behind ``mmpretrain.get_model(..., pretrained=FILE)``, ``FeatureExtractor``,
the Runner's ``load_from`` and the toolboxes' inferencers, would match no
key, warn about all of them and leave the model as it was. Importing the
plugin makes mmengine's ``load_state_dict`` recognise such a state dict
(none of its keys is the model's, most are its backbone's) and load it
into ``model.backbone``: every weight, or one :class:`InputDataError` line.
The rest of the model keeps its weights, as one log line says.
"""
import functools

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from .strict_pretrained_init import load_all_weights


def backbone_of_whole_model(model: nn.Module, state: dict):
    """``(model, its backbone, the backbone's and the model's other weight
    counts)`` when ``state`` holds only that backbone's keys, else None
    (``model`` unwrapped from DDP)."""
    inner = model.module if is_model_wrapper(model) else model
    backbone = getattr(inner, 'backbone', None)
    if not isinstance(backbone, nn.Module) or not state:
        return None
    keys, own = set(state), inner.state_dict()
    if keys & set(own):
        return None
    ours = set(backbone.state_dict())
    if 2 * len(keys & ours) <= len(keys):
        return None
    return inner, backbone, len(ours), len(own) - len(ours)


def _into_backbone(load_state_dict):

    @functools.wraps(load_state_dict)
    def load(module, state_dict, strict=False, logger=None):
        found = backbone_of_whole_model(module, state_dict)
        if found is None:
            return load_state_dict(module, state_dict, strict, logger)
        inner, backbone, n_backbone, rest = found
        load_all_weights(
            backbone, dict(state_dict), None, 'a backbone-only state dict',
            lambda m, s: load_state_dict(m, s, strict, logger))
        print_log(
            f'loaded a backbone-only state dict into '
            f'{type(inner).__name__}.backbone ({n_backbone} weights); '
            f'its other {rest} weights keep their values', logger='current')

    load.into_backbone = True
    return load


def load_backbone_files_into_models() -> None:
    """Wrap mmengine's checkpoint ``load_state_dict`` (idempotent)."""
    from mmengine.runner import checkpoint
    if not getattr(checkpoint.load_state_dict, 'into_backbone', False):
        checkpoint.load_state_dict = _into_backbone(checkpoint.load_state_dict)
