"""mmengine's ``Pretrained`` init, strict: it loads every weight or stops.

mmengine's ``init_cfg=dict(type='Pretrained', checkpoint=FILE)`` loads with
``strict=False`` and only warns, so a raw pretraining checkpoint (keys under
``backbone.``), a backbone of another architecture or a wrong file leaves
the model at random init and the run goes on. Importing the plugin makes
``Pretrained`` (in every toolbox's config run with the plugin imported):

- load ``FILE`` weights-only, after ``prefix`` selection as mmengine's;
- stop with one :class:`InputDataError` line naming the file when a weight
  of the module is missing from it or has another shape (a ViT
  ``pos_embed`` on another square grid is resized as mmpretrain does);
  a training checkpoint given without ``prefix='backbone.'`` says so;
  keys the module does not have (heads, necks) are listed in a warning;
- with ``checkpoint=None``, keep the module's random init (position
  embeddings drawn as the backbone's own init would), so a config can
  carry ``init_cfg=dict(type='Pretrained', checkpoint=None)`` and one
  ``--cfg-options model.backbone.init_cfg.checkpoint=FILE`` fills it in.
"""
import functools
import logging
import os

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model.weight_init import trunc_normal_, update_init_info

from ..models.utils.teacher_checkpoints import (check_teacher_state_dict,
                                                load_checkpoint_weights_only,
                                                unwrap_checkpoint)
from ..utils.errors import InputDataError

#: absolute position embeddings that mmpretrain's ViT / Swin draw in their
#: ``init_weights`` unless the init_cfg is ``Pretrained``
POSITION_EMBEDDINGS = ('pos_embed', 'absolute_pos_embed')


def _few(keys, n=3) -> str:
    return ', '.join(keys[:n]) + (', ...' if len(keys) > n else '')


def load_pretrained(module: nn.Module, checkpoint: str,
                    prefix: str = None) -> None:
    """Load every weight of ``module`` from ``checkpoint`` or raise."""
    where = f'init_cfg checkpoint {os.fspath(checkpoint)}'
    state = unwrap_checkpoint(
        load_checkpoint_weights_only(checkpoint, 'init_cfg checkpoint'),
        ('state_dict', ))
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items()
                 if k.startswith(prefix)}
        if not state:
            raise InputDataError(f'{where}: no key starts with {prefix!r}')
    found = check_teacher_state_dict(module, state)
    name, total = type(module).__name__, len(module.state_dict())
    missing = found['missing']
    if len(missing) == total and any(k.startswith('backbone.')
                                     for k in state):
        raise InputDataError(
            f"{where} is a training checkpoint (keys under 'backbone.'): "
            "set init_cfg prefix='backbone.' or extract the backbone with "
            'tools/model_converters/extract_backbone.py')
    if missing:
        raise InputDataError(
            f'{where} lacks {len(missing)} of the {total} weights of this '
            f'{name} ({_few(missing)})')
    if found['mismatched']:
        raise InputDataError(
            f'{where} does not fit this {name}: '
            f'{len(found["mismatched"])} weights have another shape '
            f'({_few(found["mismatched"], 1)})')
    if found['unexpected']:
        print_log(
            f'{where}: {len(found["unexpected"])} keys not in this {name} '
            f'are ignored ({_few(found["unexpected"])})',
            logger='current', level=logging.WARNING)
    module.load_state_dict(state, strict=False)
    print_log(f'loaded all {total} weights of {name} '
              f'from {os.fspath(checkpoint)}', logger='current')


def _strict(call):

    @functools.wraps(call)
    def strict(self, module):
        if self.checkpoint is None:
            for key in POSITION_EMBEDDINGS:
                param = getattr(module, key, None)
                if isinstance(param, nn.Parameter):
                    trunc_normal_(param, std=0.02)
            print_log(
                f'{type(module).__name__}: init_cfg Pretrained without a '
                'checkpoint, random init', logger='current')
            info = 'Pretrained: no checkpoint, random init'
        else:
            load_pretrained(module, self.checkpoint, self.prefix)
            info = f'Pretrained: load from {self.checkpoint}'
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=info)

    strict.is_strict = True
    return strict


def make_pretrained_init_strict() -> None:
    """Wrap ``PretrainedInit.__call__`` (idempotent)."""
    from mmengine.model.weight_init import PretrainedInit
    if not getattr(PretrainedInit.__call__, 'is_strict', False):
        PretrainedInit.__call__ = _strict(PretrainedInit.__call__)
