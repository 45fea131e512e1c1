"""``init_cfg=dict(type='StrictPretrained', checkpoint=FILE)``: every
weight from the file, or one line saying why not.

mmengine's stock ``Pretrained`` loads with ``strict=False`` and only warns,
so a wrong file leaves the model at random init and the run goes on. Our
downstream configs select this init type instead (registered in mmengine's
weight-initialiser registry, so every toolbox's scope sees it; stock
``Pretrained`` stays as it is). It:

- reads ``FILE`` (a path or URL) weights-only; a backbone file of
  ``extract_backbone.py`` (keys under ``backbone.``) or a bare backbone state
  dict is taken as it is, other keys after ``prefix`` selection;
- refuses a file whose recorded architecture (``meta['backbone']``) has
  other head counts than the module (heads are not in the weights, so such
  a file would load silently into another model), naming the
  ``--cfg-options`` that build the recorded one;
- resizes a ViT ``pos_embed`` from the recorded (non-square) grid to the
  module's, e.g. 16x8 (256x128) to 16x12 (256x192);
- stops with one :class:`InputDataError` line naming the file when it is
  missing (and the option that sets it) or when a weight of the module is
  missing from it or has another shape; keys the module does not have
  (heads, necks) are listed in a warning;
- with ``checkpoint=None`` keeps the module's own random init (the
  random-init baseline of the benchmarks).

mmengine runs an init type other than ``Pretrained`` before the module's
children initialise themselves, and mmpretrain's ViT / Swin draw their
position embeddings afterwards unless their ``init_cfg`` is a ``Pretrained``
dict. So after loading, the module's submodules are marked initialised
(mmengine's ``is_init``) and its ``init_cfg`` becomes the record of the load
it did, ``dict(type='Pretrained', checkpoint=FILE)``: nothing redraws a
loaded weight.
"""
import logging
import math
import os
from typing import List, Mapping, Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS

from ..models.utils.backbone_extraction import patch_grid
from ..models.utils.checkpoint_loading import (build_for_key_check,
                                               check_teacher_state_dict,
                                               few_keys)
from ..utils.errors import InputDataError
from ..utils.untrusted_files import (BACKBONE_PREFIX, read_checkpoint,
                                     recorded_backbone_cfg)

#: the option of our downstream configs that names the backbone file
BACKBONE_FILE_OPTION = 'model.backbone.init_cfg.checkpoint'


def _file_weights(obj, prefix: Optional[str], where: str) -> dict:
    """The tensors of a checkpoint for a backbone: under ``prefix`` (removed)
    if given, else a backbone file's (:data:`BACKBONE_PREFIX` removed where
    every key has it) or the keys as they are."""
    state = obj.get('state_dict', obj) if isinstance(obj, Mapping) else obj
    if not isinstance(state, Mapping):
        raise InputDataError(f'{where} holds a {type(state).__name__}, not '
                             'a state dict')
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items() if isinstance(v, torch.Tensor)}
    if prefix is None and state and all(
            k.startswith(BACKBONE_PREFIX) for k in state):
        prefix = BACKBONE_PREFIX
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items()
                 if k.startswith(prefix)}
        if not state:
            raise InputDataError(f'{where}: no key starts with {prefix!r}')
    return state


def load_pretrained(module: nn.Module, checkpoint: str,
                    prefix: Optional[str] = None) -> None:
    """Load every weight of ``module`` from ``checkpoint`` or raise."""
    where = f'init_cfg checkpoint {os.fspath(checkpoint)}'
    if '://' not in os.fspath(checkpoint) and not os.path.isfile(checkpoint):
        raise InputDataError(
            f'{where} not found: point the {type(module).__name__} at a '
            f'backbone file (tools/model_converters/extract_backbone.py), '
            f'e.g. --cfg-options {BACKBONE_FILE_OPTION}=FILE')
    obj = read_checkpoint(checkpoint, 'init_cfg checkpoint')
    meta = obj.get('meta') if isinstance(obj, Mapping) else None
    recorded = meta.get('backbone') if isinstance(meta, dict) else None
    load_all_weights(module, _file_weights(obj, prefix, where), recorded,
                     where)
    print_log(f'loaded all {len(module.state_dict())} weights of '
              f'{type(module).__name__} from {os.fspath(checkpoint)}',
              logger='current')


def load_all_weights(module: nn.Module, state: dict, recorded,
                     where: str) -> None:
    """Load ``state`` into ``module``: every weight of it, or one line.

    ``recorded`` is the architecture the file records (``meta['backbone']``)
    or None; ``where`` names the file in messages.
    """
    if isinstance(recorded, dict):
        _check_recorded_heads(module, recorded, where)
    _resize_position_grid(module, state, recorded, where)
    found = check_teacher_state_dict(module, state)
    name, total = type(module).__name__, len(module.state_dict())
    missing = found['missing']
    if len(missing) == total and any(k.startswith(BACKBONE_PREFIX)
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
    module.load_state_dict(state, strict=False)


def _heads(module: nn.Module) -> List[int]:
    """The head count of every attention in ``module``, in order."""
    return [m.num_heads for m in module.modules() if m is not module
            and isinstance(getattr(m, 'num_heads', None), int)]


def _runs(heads: List[int]) -> str:
    """``[6] * 11 + [12]`` -> ``'12 attentions: 6 heads x11, 12 heads x1'``."""
    runs = []
    for h in heads:
        if runs and runs[-1][0] == h:
            runs[-1][1] += 1
        else:
            runs.append([h, 1])
    return f'{len(heads)} attentions: ' + ', '.join(
        f'{h} heads x{n}' for h, n in runs)


def _build_as_recorded(recorded: dict, where: str) -> str:
    """The ``--cfg-options`` that build the architecture a file records
    (a ViT's ``arch`` dict; per-block heads through ``layer_cfgs``)."""
    arch = recorded.get('arch')
    if isinstance(arch, str):
        return f'--cfg-options model.backbone.arch={arch}'
    options = ['model.backbone.arch._delete_=True'] + [
        f'model.backbone.arch.{k}={v}' for k, v in (arch or {}).items()]
    text = '--cfg-options ' + ' '.join(options)
    if recorded.get('layer_cfgs'):
        text += (' and the per-block layer_cfgs it records (as '
                 'configs/_base_/models/dpal_students.py sets them)')
    return text


def _check_recorded_heads(module: nn.Module, recorded: dict,
                          where: str) -> None:
    """The head counts are not in the weights: compare the architecture
    the file records (``meta['backbone']``) with ``module``'s."""
    cfg = recorded_backbone_cfg(recorded, where)  # nothing else is built
    try:
        theirs = _heads(build_for_key_check(
            dict(cfg, type=f'mmpretrain.{cfg["type"]}')))
    except InputDataError:
        raise
    except (KeyError, TypeError, ValueError, AssertionError) as err:
        print_log(f'{where}: its recorded architecture does not build here '
                  f'({type(err).__name__}); head counts not checked',
                  logger='current', level=logging.WARNING)
        return
    ours = _heads(module)
    if theirs and ours and theirs != ours:
        raise InputDataError(
            f'{where} is a {recorded.get("type")} with {_runs(theirs)}; this '
            f'{type(module).__name__} has {_runs(ours)} (same weight shapes, '
            f'another model): build it as recorded, '
            f'{_build_as_recorded(recorded, where)}')


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


@WEIGHT_INITIALIZERS.register_module(name='StrictPretrained')
class StrictPretrainedInit:
    """Every weight of the module from ``checkpoint``, or one line.

    Args:
        checkpoint (str, optional): A backbone file, any checkpoint with
            ``prefix``, or a URL. None keeps the module's random init.
        prefix (str, optional): Take the keys under it (removed). A backbone
            file needs none.
        map_location: Accepted for ``Pretrained`` compatibility; files are
            read to the CPU.
    """

    def __init__(self, checkpoint: Optional[str] = None,
                 prefix: Optional[str] = None, map_location='cpu') -> None:
        self.checkpoint = checkpoint
        self.prefix = prefix

    def __call__(self, module: nn.Module) -> None:
        if self.checkpoint is None:
            print_log(f'{type(module).__name__}: StrictPretrained without a '
                      'checkpoint, random init', logger='current')
            info = 'StrictPretrained: no checkpoint, random init'
        else:
            load_pretrained(module, self.checkpoint, self.prefix)
            # nothing redraws what was loaded (see the module docstring)
            for sub in module.modules():
                if sub is not module and isinstance(sub, BaseModule):
                    sub.is_init = True
            if isinstance(module, BaseModule):
                module.init_cfg = dict(type='Pretrained',
                                       checkpoint=self.checkpoint)
            info = f'StrictPretrained: load from {self.checkpoint}'
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=info)
