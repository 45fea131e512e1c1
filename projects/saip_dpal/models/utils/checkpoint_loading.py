"""Strict key checks of checkpoints against models.

Files are read by :func:`~projects.saip_dpal.utils.untrusted_files.
read_checkpoint` (weights-only). :func:`check_teacher_state_dict` compares a state dict with a model's keys
and shapes; :func:`load_teacher_weights` loads a teacher with it and refuses
any missing key, unexpected key or shape mismatch in one line. The only
shape difference accepted is a ViT ``pos_embed`` grid of the same width
(resized by mmpretrain's load hook).

The checkpoint formats of the published teachers are converted beforehand
by ``tools/model_converters/{path,solider}2mmpretrain.py``.
"""
import math
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Union

import torch
import torch.nn as nn

from ...utils.errors import InputDataError
from ...utils.untrusted_files import BACKBONE_PREFIX, read_checkpoint

__all__ = [
    'unwrap_checkpoint', 'tensor_state', 'build_for_key_check',
    'format_key_report',
    'few_keys', 'check_teacher_state_dict', 'load_teacher_weights'
]

_WRAPPER_KEYS = ('state_dict', 'model', 'teacher')


# ---------------------------------------------------------------- reading
def unwrap_checkpoint(obj: Any,
                      wrappers=_WRAPPER_KEYS) -> Mapping[str, Any]:
    """Descend through ``state_dict`` / ``model`` / ``teacher`` layers."""
    for _ in range(4):
        if not isinstance(obj, Mapping):
            break
        inner = next((obj[k] for k in wrappers
                      if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping):
        raise InputDataError(
            f'checkpoint holds a {type(obj).__name__}, not a state dict')
    return obj


def tensor_state(state: Mapping[str, Any], name: str) -> 'OrderedDict':
    """The tensor entries of ``state``; an error naming ``name`` if none."""
    out = OrderedDict(
        (k, v) for k, v in state.items() if isinstance(v, torch.Tensor))
    if not out:
        raise InputDataError(f'{name} holds no tensors')
    return out


def _name(src) -> str:
    return osp.basename(os.fspath(src)) if isinstance(
        src, (str, os.PathLike)) else '<state dict>'


# ------------------------------------------------------------- key checks
def build_for_key_check(cfg: dict) -> nn.Module:
    """Build a backbone from ``cfg`` for :func:`check_teacher_state_dict`:
    on the meta device where its constructor allows (nothing allocated),
    else on the CPU (mmpretrain's Swin calls ``.item()`` while building)."""
    from mmpretrain.registry import MODELS
    try:
        with torch.device('meta'):
            return MODELS.build(cfg)
    except (NotImplementedError, RuntimeError):
        return MODELS.build(cfg)


def format_key_report(report: Dict, found: Dict,
                      kept: int) -> List[str]:
    """Lines describing a conversion checked against a model.

    ``report`` holds ``renamed`` (old -> new), ``dropped`` and ``added``
    (key -> reason), as a converter returns it; ``found`` is the result of
    :func:`check_teacher_state_dict`; ``kept`` the number of keys written.
    """
    lines = [f'kept {kept} keys ({len(report["renamed"])} renamed)']
    for title, items in (('dropped', report['dropped']),
                         ('added', report['added'])):
        lines.append(f'{title} {len(items)}')
        lines += [f'  {k}: {why}' for k, why in items.items()]
    lines.append(f'resized on load {len(found["resized"])}')
    lines += [f'  {r}' for r in found['resized']]
    for title in ('missing', 'unexpected', 'mismatched'):
        lines.append(f'{title} {len(found[title])}')
        lines += [f'  {k}' for k in found[title]]
    return lines


def _legit_resize(model: nn.Module, key: str, src: torch.Size,
                  dst: torch.Size) -> bool:
    """A ViT ``pos_embed`` of the same width on another square grid, which
    mmpretrain's ``_prepare_pos_embed`` load hook resizes."""
    if key != 'pos_embed' or not hasattr(model, '_prepare_pos_embed'):
        return False
    if len(src) != 3 or len(dst) != 3 or src[0] != dst[0] \
            or src[2] != dst[2]:
        return False
    grid = src[1] - getattr(model, 'num_extra_tokens', 1)
    return grid > 0 and math.isqrt(grid)**2 == grid


def few_keys(items: List[str], n: int = 3) -> str:
    """`` (a, b, c, ...)`` for the first ``n`` of ``items``; empty if none."""
    shown = ', '.join(items[:n])
    return f' ({shown}{", ..." if len(items) > n else ""})' if items else ''


def check_teacher_state_dict(model: nn.Module,
                             state: Mapping[str, torch.Tensor]) -> Dict:
    """Compare ``state`` with ``model.state_dict()`` (keys and shapes).

    Returns:
        dict of lists: ``missing`` and ``unexpected`` keys, ``mismatched``
        (``'key: checkpoint (shape) vs model (shape)'``) and ``resized``
        (ViT ``pos_embed`` grids the load hook resizes,
        ``'key: (shape) -> (shape)'``).
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched, resized = [], []
    for key in expected:
        if key not in state:
            continue
        src, dst = tuple(state[key].shape), tuple(expected[key].shape)
        if src == dst:
            continue
        if _legit_resize(model, key, state[key].shape, expected[key].shape):
            resized.append(f'{key}: {src} -> {dst}')
        else:
            mismatched.append(f'{key}: checkpoint {src} vs model {dst}')
    return dict(
        missing=missing,
        unexpected=unexpected,
        mismatched=mismatched,
        resized=resized)


# ---------------------------------------------------------- strict loading
def load_teacher_weights(model: nn.Module,
                         path_or_state_dict: Union[str, os.PathLike,
                                                   Mapping],
                         prefix: Optional[str] = None) -> Dict:
    """Load teacher weights strictly; raise one line when they do not fit.

    Args:
        model: the teacher backbone.
        path_or_state_dict: a checkpoint file (read with ``torch.load(...,
            map_location='cpu', weights_only=True)``, never otherwise) or an
            already loaded checkpoint/state dict. ``state_dict`` /
            ``model`` / ``teacher`` layers are unwrapped.
        prefix: if given, only the keys starting with it are used, with the
            prefix removed (e.g. ``'backbone.'``); an error if none has it.

    Returns:
        dict: ``source``, ``loaded`` (number of tensors), ``resized``
        (``'key: (shape) -> (shape)'`` for accepted grid resizes),
        ``ignored`` (keys outside ``prefix``), ``missing`` and
        ``unexpected`` (both empty on success).

    Raises:
        InputDataError: unreadable file, or any missing/unexpected key or
            shape mismatch other than a ViT ``pos_embed`` grid resize.
    """
    name = _name(path_or_state_dict)
    obj = read_checkpoint(path_or_state_dict, 'teacher checkpoint') \
        if isinstance(path_or_state_dict, (str, os.PathLike)) \
        else path_or_state_dict
    state = tensor_state(unwrap_checkpoint(obj), f'teacher checkpoint {name}')
    meta = obj.get('meta') if isinstance(obj, Mapping) else None
    if prefix is None and isinstance(meta, Mapping) and 'backbone' in meta:
        prefix = BACKBONE_PREFIX  # a backbone file of extract_backbone.py
    ignored = []
    if prefix:
        ignored = [k for k in state if not k.startswith(prefix)]
        state = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                            if k.startswith(prefix))
        if not state:
            raise InputDataError(
                f'teacher checkpoint {name} has no key starting with '
                f'{prefix!r}')

    found = check_teacher_state_dict(model, state)
    missing, unexpected = found['missing'], found['unexpected']
    mismatched, resized = found['mismatched'], found['resized']
    if missing or unexpected or mismatched:
        raise InputDataError(
            f'teacher checkpoint {name} does not fit '
            f'{type(model).__name__}: {len(missing)} missing'
            f'{few_keys(missing)}, {len(unexpected)} unexpected'
            f'{few_keys(unexpected)}, {len(mismatched)} shape mismatch'
            f'{few_keys(mismatched, 2)}')
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:  # e.g. a resize the hook could not do
        first = str(err).strip().splitlines()
        raise InputDataError(
            f'teacher checkpoint {name} does not load into '
            f'{type(model).__name__}: '
            f'{" ".join(s.strip() for s in first[:2])}') from None
    return dict(
        source=name,
        loaded=len(state),
        resized=resized,
        ignored=ignored,
        missing=missing,
        unexpected=unexpected)
