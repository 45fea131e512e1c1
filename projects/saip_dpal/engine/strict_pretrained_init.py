"""mmengine's ``Pretrained`` init, strict: it loads every weight or stops.

mmengine's ``init_cfg=dict(type='Pretrained', checkpoint=FILE)`` loads with
``strict=False`` and only warns, so a raw pretraining checkpoint (keys under
``backbone.``), a backbone of another architecture or a wrong file leaves
the model at random init and the run goes on. Importing the plugin makes
``Pretrained`` (in every toolbox's config run with the plugin imported):

- load ``FILE`` weights-only, after ``prefix`` selection as mmengine's;
- refuse a file whose recorded architecture (``meta['backbone']``, written
  by ``extract_backbone.py``) has other head counts or depth than the
  module: heads are not in the weights, so such a file loads silently;
- resize a ViT ``pos_embed`` from the recorded (non-square) grid to the
  module's, e.g. 16x8 (256x128) to 16x12 (256x192);
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
import math
import os
from typing import List, Mapping

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model.weight_init import trunc_normal_, update_init_info

from ..models.utils.backbone_extraction import patch_grid
from ..models.utils.checkpoint_loading import (build_for_key_check,
                                               check_teacher_state_dict,
                                               few_keys,
                                               load_checkpoint_weights_only,
                                               unwrap_checkpoint)
from ..utils.errors import InputDataError

#: absolute position embeddings that mmpretrain's ViT / Swin draw in their
#: ``init_weights`` unless the init_cfg is ``Pretrained``
POSITION_EMBEDDINGS = ('pos_embed', 'absolute_pos_embed')


def load_pretrained(module: nn.Module, checkpoint: str,
                    prefix: str = None) -> None:
    """Load every weight of ``module`` from ``checkpoint`` or raise."""
    where = f'init_cfg checkpoint {os.fspath(checkpoint)}'
    obj = load_checkpoint_weights_only(checkpoint, 'init_cfg checkpoint')
    meta = obj.get('meta') if isinstance(obj, Mapping) else None
    recorded = meta.get('backbone') if isinstance(meta, dict) else None
    state = unwrap_checkpoint(obj, ('state_dict', ))
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items()
                 if k.startswith(prefix)}
        if not state:
            raise InputDataError(f'{where}: no key starts with {prefix!r}')
    load_all_weights(module, state, recorded, where)
    print_log(f'loaded all {len(module.state_dict())} weights of '
              f'{type(module).__name__} from {os.fspath(checkpoint)}',
              logger='current')


def load_all_weights(module: nn.Module, state: dict, recorded, where: str,
                     load=None) -> None:
    """Load ``state`` into ``module``: every weight of it, or one line.

    ``recorded`` is the architecture the file records (``meta['backbone']``)
    or None; ``where`` names the file in messages; ``load(module, state)``
    does the load (defaults to ``module.load_state_dict(state, False)``).
    """
    if isinstance(recorded, dict):
        _check_recorded_heads(module, recorded, where)
    _resize_position_grid(module, state, recorded, where)
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
            f'{name}{few_keys(missing)}')
    if found['mismatched']:
        raise InputDataError(
            f'{where} does not fit this {name}: '
            f'{len(found["mismatched"])} weights have another shape'
            f'{few_keys(found["mismatched"], 1)}')
    if found['unexpected']:
        print_log(
            f'{where}: {len(found["unexpected"])} keys not in this {name} '
            f'are ignored{few_keys(found["unexpected"])}',
            logger='current', level=logging.WARNING)
    if load is None:
        module.load_state_dict(state, strict=False)
    else:
        load(module, state)


def _heads(module: nn.Module) -> List[int]:
    """The head count of every attention in ``module``, in order."""
    return [m.num_heads for m in module.modules() if m is not module
            and isinstance(getattr(m, 'num_heads', None), int)]


def _runs(heads: List[int]) -> str:
    """``[6] * 11 + [12]`` -> ``'12 attentions: 6 x11, 12 x1'``."""
    runs = []
    for h in heads:
        if runs and runs[-1][0] == h:
            runs[-1][1] += 1
        else:
            runs.append([h, 1])
    return f'{len(heads)} attentions: ' + ', '.join(
        f'{h} heads x{n}' for h, n in runs)


def _check_recorded_heads(module: nn.Module, recorded: dict,
                          where: str) -> None:
    """The head counts (and depth) are not in the weights: compare the
    architecture the file records (``meta['backbone']``) with ``module``."""
    cfg = dict(recorded, init_cfg=None)
    if '.' not in str(cfg.get('type')):  # built in mmpretrain's scope
        cfg['type'] = f'mmpretrain.{cfg.get("type")}'
    try:
        theirs = _heads(build_for_key_check(cfg))
    except (KeyError, TypeError, ValueError, AssertionError) as err:
        print_log(f'{where}: its recorded architecture does not build here '
                  f'({type(err).__name__}); head counts not checked',
                  logger='current', level=logging.WARNING)
        return
    ours = _heads(module)
    if theirs and ours and theirs != ours:
        raise InputDataError(
            f'{where} is a {recorded.get("type")} '
            f'{recorded.get("arch", "")} with {_runs(theirs)}; this '
            f'{type(module).__name__} has {_runs(ours)} (same weight shapes, '
            'another model: set the backbone as meta["backbone"] says)')


def _resize_position_grid(module: nn.Module, state: dict, recorded,
                          where: str) -> None:
    """Resize a ViT ``pos_embed`` from the file's grid to ``module``'s.

    mmpretrain's load hook can only resize from a square grid; our
    backbones are pretrained at 256x128 (16x8), and mmpose's configs run
    them at 256x192 (16x12). The file's grid comes from the architecture it
    records; a square one is left to the hook.
    """
    target = getattr(module, 'pos_embed', None)
    source = state.get('pos_embed')
    if not isinstance(target, nn.Parameter) or source is None \
            or source.ndim != 3 or not hasattr(module, 'patch_embed') \
            or source.shape[1] == target.shape[1] \
            or source.shape[2] != target.shape[2]:
        return  # nothing to resize (another width is a mismatch)
    extra = getattr(module, 'num_extra_tokens', 1)
    if not (isinstance(recorded, dict) and 'img_size' in recorded):
        tokens = source.shape[1] - extra
        if math.isqrt(tokens)**2 == tokens:
            return  # mmpretrain's hook resizes square grids
        raise InputDataError(
            f'{where}: its pos_embed has {tokens} positions on a grid the '
            'file does not record (no meta["backbone"]); extract it with '
            'tools/model_converters/extract_backbone.py')
    src_grid = patch_grid(recorded['img_size'],
                          recorded.get('patch_size', 16))
    src_extra = source.shape[1] - src_grid[0] * src_grid[1]
    if src_extra < extra or src_extra > 1:
        raise InputDataError(
            f'{where}: its pos_embed has {source.shape[1]} positions, not '
            f'the {src_grid[0]}x{src_grid[1]} grid (+ {extra} cls) this '
            f'{type(module).__name__} needs from its meta["backbone"]')
    source = source[:, src_extra - extra:]  # no cls position if not used
    from mmpretrain.models.utils import resize_pos_embed
    state['pos_embed'] = resize_pos_embed(
        source, src_grid, module.patch_embed.init_out_size,
        getattr(module, 'interpolate_mode', 'bicubic'), extra)
    print_log(f'{where}: pos_embed resized from the {src_grid[0]}x'
              f'{src_grid[1]} grid to '
              f'{"x".join(map(str, module.patch_embed.init_out_size))}',
              logger='current')


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
