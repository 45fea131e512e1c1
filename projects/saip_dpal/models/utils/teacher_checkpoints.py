"""DPAL teachers: model configs, checkpoint converters and strict loading.

Teachers (docs/methods.md sections 1 and 4):

* **PATH-B / PATH-L** are plain mmpretrain ``VisionTransformer`` s
  (:func:`path_vit_teacher`). Reading of the reference code:

  - PATH (HumanBench ``vitdet_for_ladder_attention_share_pos_embed.py``)
    is a pre-norm ViT (LayerNorm eps 1e-6, qkv bias, GELU MLP, no layer
    scale) with a separate ``cls_token_pos_embed`` (1, 1, D) and a 14x14
    ``pos_embed`` (1, 196, D). At other input sizes PATH itself resizes the
    patch grid bicubically (``align_corners=False``) and keeps the cls
    position apart (``get_abs_pos``); mmpretrain's ``resize_pos_embed``
    (used by ``VisionTransformer._prepare_pos_embed`` at load time and in
    ``forward``) computes exactly that, non-square target grids included.
    So the converter only concatenates ``[cls_token_pos_embed, pos_embed]``
    into mmpretrain's (1, 197, D) layout. The teacher configs keep that
    14x14 grid (``img_size=224``), so each forward resizes it *directly* to
    its input's grid (16x8, 16x16); a model built for another size gets it
    resized on load instead.
  - PATH's final ``norm`` exists in the module but its output is never
    used (``forward_features`` returns the intermediate features), and the
    released backbone keys hold no ``norm.*``. DPAL's teacher
    (``ExpertViT`` in DPAL's ``vision_transformer.py``) applies its own
    final ``LayerNorm(eps=1e-6)`` and loads PATH with ``strict=False``, so
    that norm keeps its initial weight 1 / bias 0: DPAL's "final, normed
    token sequence" is a LayerNorm *without* learned affine. Hence
    ``final_norm=True`` and the converter writes ``ln1.weight = 1``,
    ``ln1.bias = 0`` when the file has no ``norm.*`` (and maps ``norm.*``
    to ``ln1.*`` when it has one).
  - Dropped on conversion: ``blocks.N.attn.rel_pos_{h,w}`` (allocated in
    compat mode, never used: PATH raises when ``rel_pos_spatial`` is on)
    and, in training checkpoints, everything outside
    ``module.backbone_module.`` (necks, decoders, heads).
  - Deviation, on purpose: DPAL's ``ExpertViT`` resizes the positions with
    DINO's ``scale_factor=(h+0.1)/14`` trick, which samples the grid
    slightly differently from a size-based resize; we follow PATH's own
    size-based resize.

* **SOLIDER-B** is :class:`SOLIDERSwinTransformer` (``arch='base'``,
  ``semantic_weight=0.0``, :func:`solider_swin_teacher`); its mmdet-style
  keys are mmpretrain's Swin keys already.

Loading: :func:`load_teacher_weights` reads a file weights-only and refuses
any missing key, unexpected key or shape mismatch with one
:class:`InputDataError` line; the only shape difference it accepts is a ViT
``pos_embed`` grid of the same width (resized by mmpretrain's load hook).
"""
import math
import os
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn

from ...utils.errors import InputDataError

__all__ = [
    'PATH_ARCHS', 'path_vit_teacher', 'solider_swin_teacher',
    'detect_path_arch', 'convert_path_state_dict',
    'convert_solider_state_dict', 'unwrap_checkpoint',
    'load_checkpoint_weights_only', 'check_teacher_state_dict',
    'build_for_key_check', 'format_key_report', 'load_teacher_weights'
]

#: PATH width -> (mmpretrain ViT arch, number of blocks)
PATH_ARCHS = {768: ('b', 12), 1024: ('l', 24)}

_WRAPPER_KEYS = ('state_dict', 'model', 'teacher')


def _pair(size) -> tuple:
    return (size, size) if isinstance(size, int) else tuple(size)


# ---------------------------------------------------------------- configs
def path_vit_teacher(arch: str = 'b', img_size=224, **overrides
                     ) -> dict:
    """mmpretrain ``VisionTransformer`` config of a PATH teacher.

    ``arch`` is ``'b'`` (PATH-B, 768 wide) or ``'l'`` (PATH-L, 1024). The
    default ``img_size=224`` keeps PATH's 14x14 position grid, which the
    forward resizes directly to each input's grid. The backbone returns one
    (B, 1 + H*W/256, C) tensor: cls token first, all tokens after the final
    (untrained-affine) LayerNorm.
    """
    if arch not in ('b', 'l'):
        raise ValueError(f"PATH teachers are arch 'b' or 'l', got {arch!r}")
    cfg = dict(
        type='VisionTransformer',
        arch=arch,
        img_size=_pair(img_size),
        patch_size=16,
        qkv_bias=True,
        norm_cfg=dict(type='LN', eps=1e-6),
        final_norm=True,
        with_cls_token=True,
        out_type='raw',
        out_indices=-1,
        drop_rate=0.,
        drop_path_rate=0.,
        interpolate_mode='bicubic')
    cfg.update(overrides)
    return cfg


def solider_swin_teacher(semantic_weight: float = 0.0,
                         img_size=(256, 128),
                         **overrides) -> dict:
    """``SOLIDERSwinTransformer`` config of the SOLIDER-B teacher.

    Returns one (B, 1 + H*W/1024, 1024) tensor: the average-pooled normed
    token first, then the normed last-stage tokens.
    """
    cfg = dict(
        type='SOLIDERSwinTransformer',
        arch='base',
        img_size=_pair(img_size),
        patch_size=4,
        window_size=7,
        semantic_weight=semantic_weight,
        out_indices=(3, ),
        out_type='tokens_with_pooled_cls',
        pad_small_map=True,
        norm_cfg=dict(type='LN'),
        drop_rate=0.,
        drop_path_rate=0.)
    cfg.update(overrides)
    return cfg


# ------------------------------------------------------------- unwrapping
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


def _tensors(state: Mapping[str, Any], name: str) -> 'OrderedDict':
    out = OrderedDict(
        (k, v) for k, v in state.items() if isinstance(v, torch.Tensor))
    if not out:
        raise InputDataError(f'{name} holds no tensors')
    return out


def _name(src) -> str:
    return osp.basename(os.fspath(src)) if isinstance(
        src, (str, os.PathLike)) else '<state dict>'


def load_checkpoint_weights_only(path: Union[str, os.PathLike],
                                 what: str = 'teacher checkpoint') -> Any:
    """``torch.load(path, map_location='cpu', weights_only=True)``.

    A missing file, or a pickle that needs anything beyond tensors and
    plain containers (the allow-list of
    ``projects.saip_dpal.engine.checkpoint_safe_globals`` included), is an
    :class:`InputDataError` naming the file.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise InputDataError(f'{what} not found: {path}')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError,
            ValueError, AttributeError, TypeError) as err:
        raise InputDataError(
            f'{what} {path} cannot be read weights-only: '
            f'{weights_only_refusal(err)}') from None


def weights_only_refusal(err: BaseException) -> str:
    """The reason in torch's weights-only error, without its advice to
    load the file unsafely."""
    text = str(err)
    found = re.search(r'Unsupported global: GLOBAL (\S+)', text)
    if found:
        return (f'it pickles {found.group(1)}, which is not allowed; '
                'nothing in it was run')
    found = re.search(r'WeightsUnpickler error: ([^\n]+)', text)
    if found:
        return found.group(1).strip()
    lines = text.strip().splitlines()
    first = lines[0] if lines else type(err).__name__
    if isinstance(err, pickle.UnpicklingError):
        return first
    return f'truncated, or not a torch checkpoint ({first.split(". ")[0]})'


# ------------------------------------------------------------------- PATH
_PATH_BLOCK = re.compile(r'^blocks\.(\d+)\.(.+)$')
_PATH_BLOCK_MAP = (
    ('norm1.', 'ln1.'),
    ('norm2.', 'ln2.'),
    ('attn.qkv.', 'attn.qkv.'),
    ('attn.proj.', 'attn.proj.'),
    ('mlp.fc1.', 'ffn.layers.0.0.'),
    ('mlp.fc2.', 'ffn.layers.1.'),
)
_PATH_PREFIXES = ('module.backbone_module.', 'backbone_module.')


def _path_backbone(obj: Any) -> Tuple['OrderedDict', List[str]]:
    """The PATH backbone keys of a bare or training checkpoint."""
    state = _tensors(unwrap_checkpoint(obj, ('state_dict', 'model')),
                     'PATH checkpoint')
    for prefix in _PATH_PREFIXES:
        if any(k.startswith(prefix) for k in state):
            kept = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                               if k.startswith(prefix))
            dropped = [k for k in state if not k.startswith(prefix)]
            return kept, dropped
    if all(k.startswith('module.') for k in state):
        state = OrderedDict((k[len('module.'):], v) for k, v in state.items())
    return state, []


def detect_path_arch(state: Mapping[str, torch.Tensor]) -> str:
    """``'b'`` or ``'l'`` from the width of a (PATH- or mmpretrain-keyed)
    ViT state dict."""
    for key in ('cls_token', 'patch_embed.proj.weight',
                'patch_embed.projection.weight'):
        if key in state:
            width = state[key].shape[-1] if key == 'cls_token' \
                else state[key].shape[0]
            break
    else:
        raise InputDataError('not a PATH ViT state dict: no cls_token or '
                             'patch embedding')
    if width not in PATH_ARCHS:
        raise InputDataError(
            f'PATH ViT width {width} is neither PATH-B (768) nor PATH-L '
            '(1024)')
    return PATH_ARCHS[width][0]


def convert_path_state_dict(obj: Any) -> Tuple['OrderedDict', Dict]:
    """PATH ViT checkpoint -> mmpretrain ``VisionTransformer`` state dict.

    Args:
        obj: a bare PATH backbone state dict (``cls_token``,
            ``cls_token_pos_embed``, ``pos_embed``, ``patch_embed.proj.*``,
            ``blocks.N.*`` [, ``norm.*``]) or a training checkpoint
            ``{'state_dict' | 'model': {'module.backbone_module.<key>'}}``.

    Returns:
        (state_dict, report): the mmpretrain-keyed tensors and a dict with
        ``renamed`` (old -> new), ``dropped`` (ignored source keys, with
        the reason), ``added`` (synthesised keys) and ``unknown`` (source
        keys with no PATH meaning, passed through unchanged so that a
        strict check reports them).
    """
    src, outside = _path_backbone(obj)
    out = OrderedDict()
    report = dict(renamed={}, dropped={}, added={}, unknown=[])
    for k in outside:
        report['dropped'][k] = 'not part of the backbone'

    if 'pos_embed' not in src:
        raise InputDataError('PATH checkpoint has no pos_embed')
    pos = src['pos_embed']
    patches = pos.shape[1]
    if 'cls_token_pos_embed' in src:
        if math.isqrt(patches)**2 != patches:
            raise InputDataError(
                f'PATH pos_embed has {patches} positions, not a square '
                'grid')
        out['pos_embed'] = torch.cat([src['cls_token_pos_embed'], pos], 1)
        report['renamed']['cls_token_pos_embed'] = 'pos_embed[:, :1]'
        report['renamed']['pos_embed'] = 'pos_embed[:, 1:]'
    elif math.isqrt(patches - 1)**2 == patches - 1:
        out['pos_embed'] = pos  # already one cls slot + a square grid
        report['renamed']['pos_embed'] = 'pos_embed'
    else:
        raise InputDataError(
            f'PATH pos_embed has {patches} positions and there is no '
            'cls_token_pos_embed: the cls position is unknown')

    for key, value in src.items():
        if key in ('pos_embed', 'cls_token_pos_embed'):
            continue
        new = None
        if key == 'cls_token':
            new = key
        elif key.startswith('patch_embed.proj.'):
            new = 'patch_embed.projection.' + key[len('patch_embed.proj.'):]
        elif key.startswith('norm.'):
            new = 'ln1.' + key[len('norm.'):]
        else:
            m = _PATH_BLOCK.match(key)
            if m:
                idx, rest = m.groups()
                if rest in ('attn.rel_pos_h', 'attn.rel_pos_w'):
                    report['dropped'][key] = 'unused by PATH'
                    continue
                for old, rep in _PATH_BLOCK_MAP:
                    if rest.startswith(old):
                        new = f'layers.{idx}.{rep}{rest[len(old):]}'
                        break
        if new is None:
            report['unknown'].append(key)
            out[key] = value
        else:
            out[new] = value
            if new != key:
                report['renamed'][key] = new

    if 'ln1.weight' not in out and 'cls_token' in out:
        width = out['cls_token'].shape[-1]
        dtype = out['cls_token'].dtype
        out['ln1.weight'] = torch.ones(width, dtype=dtype)
        out['ln1.bias'] = torch.zeros(width, dtype=dtype)
        why = ('identity affine: DPAL normalises the teacher tokens with an '
               'untrained final LayerNorm')
        report['added'] = {'ln1.weight': why, 'ln1.bias': why}
    return out, report


# ---------------------------------------------------------------- SOLIDER
_SOLIDER_PREFIXES = ('module.backbone.', 'backbone.')
_OUT_NORM = re.compile(r'^norm(\d+)\.')


def _relative_position_index(window: int) -> torch.Tensor:
    """Swin's (w*w, w*w) index into the (2w-1)^2 bias table."""
    coords = torch.stack(
        torch.meshgrid(torch.arange(window), torch.arange(window),
                       indexing='ij')).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    rel = rel + (window - 1)
    return rel[..., 0] * (2 * window - 1) + rel[..., 1]


def convert_solider_state_dict(obj: Any,
                               which: str = 'teacher',
                               out_indices=(3, )
                               ) -> Tuple['OrderedDict', Dict]:
    """SOLIDER Swin checkpoint -> ``SOLIDERSwinTransformer`` state dict.

    Args:
        obj: ``{'teacher': {'backbone.<key>'}, 'student':
            {'module.backbone.<key>'}, ...}`` as SOLIDER saves, or a bare
            backbone state dict (optionally under ``state_dict``/``model``).
        which: ``'teacher'`` (SOLIDER's released weights; its
            ``convert_model.py`` keeps this one) or ``'student'``.
        out_indices: the output norms to keep (``norm{i}``); the others are
            dropped. Defaults to ``(3,)`` as the teacher config.

    Returns:
        (state_dict, report) as :func:`convert_path_state_dict`.
    """
    if which not in ('teacher', 'student'):
        raise ValueError(f"which must be 'teacher' or 'student', got "
                         f'{which!r}')
    if isinstance(obj, Mapping) and which in obj and isinstance(
            obj[which], Mapping):
        obj = obj[which]
    elif isinstance(obj, Mapping) and ('teacher' in obj or 'student' in obj):
        raise InputDataError(f'SOLIDER checkpoint has no {which!r} weights')
    state = _tensors(unwrap_checkpoint(obj, ('state_dict', 'model')),
                     'SOLIDER checkpoint')
    report = dict(renamed={}, dropped={}, added={}, unknown=[])
    for prefix in _SOLIDER_PREFIXES:
        if any(k.startswith(prefix) for k in state):
            for k in state:
                if not k.startswith(prefix):
                    report['dropped'][k] = 'not part of the backbone'
            state = OrderedDict((k[len(prefix):], v)
                                for k, v in state.items()
                                if k.startswith(prefix))
            break

    out = OrderedDict()
    keep = {int(i) for i in out_indices}
    for key, value in state.items():
        m = _OUT_NORM.match(key)
        if m and int(m.group(1)) not in keep:
            report['dropped'][key] = 'output norm of an unused stage'
            continue
        if key.endswith('attn_mask'):
            report['dropped'][key] = 'recomputed at run time'
            continue
        out[key] = value
        if not (key.startswith(('patch_embed.', 'stages.', 'norm',
                                'semantic_embed_w.', 'semantic_embed_b.'))):
            report['unknown'].append(key)

    # the index buffers are constants of the window size: regenerate any
    # that a stripped file lacks
    for key in list(out):
        if key.endswith('relative_position_bias_table'):
            index_key = key.replace('bias_table', 'index')
            if index_key not in out:
                window = (math.isqrt(out[key].shape[0]) + 1) // 2
                out[index_key] = _relative_position_index(window)
                report['added'][index_key] = f'constant of window {window}'
    return out, report


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
    """Lines describing a conversion (``report`` of a ``convert_*``
    function) checked against a model (``found`` of
    :func:`check_teacher_state_dict`)."""
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


# ---------------------------------------------------------- strict loading
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
    obj = load_checkpoint_weights_only(path_or_state_dict) if isinstance(
        path_or_state_dict, (str, os.PathLike)) else path_or_state_dict
    state = _tensors(unwrap_checkpoint(obj), f'teacher checkpoint {name}')
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
