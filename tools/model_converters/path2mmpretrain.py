"""Convert a PATH (HumanBench) ViT checkpoint for mmpretrain's ViT.

    python tools/model_converters/path2mmpretrain.py SRC.pth DST.pth

Reads a released PATH-B / PATH-L backbone (``cls_token``,
``cls_token_pos_embed``, ``pos_embed``, ``patch_embed.proj.*``,
``blocks.N.*``) or a PATH training checkpoint (``state_dict`` with
``module.backbone_module.`` keys), weights-only, and writes
``{'state_dict': <mmpretrain VisionTransformer keys>, 'meta': {...}}``.
The keys are checked against the DPAL teacher config of the detected arch
(width 768 -> PATH-B, ``configs/_base_/models/teacher_pathb.py``; 1024 ->
PATH-L, ``teacher_pathl.py``); nothing is written unless they fit. Runs
from any directory.

What the conversion relies on (read from HumanBench's
``vitdet_for_ladder_attention_share_pos_embed.py``):

* PATH is a pre-norm ViT (LayerNorm eps 1e-6, qkv bias, GELU MLP, no layer
  scale), so ``blocks.N.{norm1, norm2, attn.qkv, attn.proj, mlp.fc1,
  mlp.fc2}`` become ``layers.N.{ln1, ln2, attn.qkv, attn.proj,
  ffn.layers.0.0, ffn.layers.1}`` and ``patch_embed.proj`` becomes
  ``patch_embed.projection``.
* Positions: a separate ``cls_token_pos_embed`` (1, 1, D) and a 14x14
  ``pos_embed`` (1, 196, D). At other input sizes PATH resizes the patch
  grid bicubically (``align_corners=False``) with the cls position kept
  apart (``get_abs_pos``), which is exactly what mmpretrain's
  ``resize_pos_embed`` computes (used by
  ``VisionTransformer._prepare_pos_embed`` at load time and in ``forward``,
  non-square target grids included). So the converter only concatenates
  ``[cls_token_pos_embed, pos_embed]`` into mmpretrain's (1, 197, D)
  layout. The teacher configs keep that 14x14 grid (``img_size=224``): each
  forward resizes it directly to its input's grid (16x8, 16x16); a model
  built for another size gets it resized on load instead.
* Final norm: PATH's ``norm`` exists in the module but its output is never
  used (``forward_features`` returns the intermediate features), and the
  released backbone keys hold no ``norm.*``. DPAL's teacher (``ExpertViT``
  in DPAL's ``vision_transformer.py``) applies its own final
  ``LayerNorm(eps=1e-6)`` and loads PATH with ``strict=False``, so that
  norm keeps its initial weight 1 / bias 0: DPAL's "final, normed token
  sequence" is a LayerNorm *without* learned affine. Hence the teacher
  configs' ``final_norm=True``, and the converter writes ``ln1.weight = 1``,
  ``ln1.bias = 0`` when the file has no ``norm.*`` (and maps ``norm.*`` to
  ``ln1.*`` when it has one).
* Dropped: ``blocks.N.attn.rel_pos_{h,w}`` (allocated in compat mode, never
  used: PATH raises when ``rel_pos_spatial`` is on) and, in training
  checkpoints, everything outside ``module.backbone_module.`` (necks,
  decoders, heads).
* Deviation, on purpose: DPAL's ``ExpertViT`` resizes the positions with
  DINO's ``scale_factor=(h+0.1)/14`` trick, which samples the grid slightly
  differently from a size-based resize; the teacher follows PATH's own
  size-based resize.
"""
import argparse
import math
import os
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Tuple

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmengine.config import Config  # noqa: E402

from projects.saip_dpal.models.utils.checkpoint_loading import (  # noqa: E402
    build_for_key_check, check_teacher_state_dict, format_key_report,
    tensor_state, unwrap_checkpoint)
from projects.saip_dpal.utils import (InputDataError, one_line,  # noqa: E402
                                      read_checkpoint)
from projects.saip_dpal.utils.model_zoo import zoo_root  # noqa: E402

#: PATH width -> (mmpretrain ViT arch, number of blocks)
PATH_ARCHS = {768: ('b', 12), 1024: ('l', 24)}
#: arch -> the teacher config (``configs/_base_/models/``) it loads into
TEACHER_CONFIGS = {'b': 'teacher_pathb.py', 'l': 'teacher_pathl.py'}

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


def teacher_config(arch: str, img_size=None) -> dict:
    """The ``teacher`` model dict of PATH-``arch``'s config file (from the
    checkout, or the installed package's ``projects/.mim``), with
    ``img_size`` (h, w) if given."""
    path = osp.join(zoo_root(), 'configs', '_base_', 'models',
                    TEACHER_CONFIGS[arch])
    cfg = Config.fromfile(path).teacher.to_dict()
    if img_size is not None:
        cfg['img_size'] = tuple(img_size)
    return cfg


def _path_backbone(obj: Any) -> Tuple['OrderedDict', List[str]]:
    """(backbone tensors, keys outside the backbone) of a bare or training
    PATH checkpoint."""
    state = tensor_state(unwrap_checkpoint(obj, ('state_dict', 'model')),
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
        (state_dict, report): the mmpretrain-keyed tensors (``pos_embed``
        (1, 1 + H*W, D)) and a dict with ``renamed`` (old -> new),
        ``dropped`` (ignored source keys, with the reason), ``added``
        (synthesised keys) and ``unknown`` (source keys with no PATH
        meaning, passed through unchanged so that a strict check reports
        them).
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a PATH ViT checkpoint into an mmpretrain '
        'VisionTransformer state dict (DPAL teacher PATH-B / PATH-L).')
    parser.add_argument('src', help='PATH checkpoint (.pth)')
    parser.add_argument('dst', help='output file (.pth)')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        default=(224, 224),
        metavar=('H', 'W'),
        help='input size of the teacher the keys are checked against; the '
        'stored positions stay on the 14x14 grid, which the teacher resizes '
        'to each input (default: 224 224, as the teacher configs)')
    return parser, parser.parse_args(argv)


def main(argv=None):
    parser, args = parse_args(argv)
    try:
        ckpt = read_checkpoint(args.src)
        state, report = convert_path_state_dict(ckpt)
        arch = detect_path_arch(state)
    except InputDataError as err:
        parser.exit(1, f'error: {one_line(err)}\n')
    width, depth = {v[0]: (k, v[1]) for k, v in PATH_ARCHS.items()}[arch]
    cfg = teacher_config(arch, args.img_size)
    model = build_for_key_check(cfg)
    found = check_teacher_state_dict(model, state)

    print(f'{args.src}: PATH-{arch.upper()} (width {width}, {depth} '
          f'blocks) -> mmpretrain VisionTransformer arch {arch!r}')
    for line in format_key_report(report, found, len(state)):
        print(line)
    if found['missing'] or found['unexpected'] or found['mismatched']:
        parser.exit(
            1, f'error: {args.src} does not convert into a PATH-'
            f'{arch.upper()} teacher ({len(found["missing"])} missing, '
            f'{len(found["unexpected"])} unexpected, '
            f'{len(found["mismatched"])} shape mismatch); nothing written\n')

    grid = state['pos_embed'].shape[1] - 1
    meta = dict(
        source='PATH',
        arch=arch,
        converted_from=osp.basename(args.src),
        converter='tools/model_converters/path2mmpretrain.py',
        pos_embed_grid=[int(grid**0.5)] * 2,
        teacher_config=cfg)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), args.dst)
    print(f'wrote {args.dst}')


if __name__ == '__main__':
    main()
