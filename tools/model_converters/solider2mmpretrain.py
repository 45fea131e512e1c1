"""Convert a SOLIDER Swin-B checkpoint for ``SOLIDERSwinTransformer``.

    python tools/model_converters/solider2mmpretrain.py SRC.pth DST.pth

Reads a SOLIDER checkpoint (``{'teacher': {'backbone.<key>'}, 'student':
{'module.backbone.<key>'}}`` as SOLIDER saves it, or a bare backbone state
dict), weights-only, and writes ``{'state_dict': <keys>, 'meta': {...}}``
for the DPAL SOLIDER-B teacher, ``configs/_base_/models/teacher_soliderb.py``
(``SOLIDERSwinTransformer``, ``arch='base'``, ``semantic_weight=0.0``).
SOLIDER's mmdet-style Swin keys are mmpretrain's Swin keys already, so
nothing is renamed: the DINO heads, the output norms of stages the teacher
does not output and the ``attn_mask`` buffers (recomputed at run time) are
dropped, and relative position index buffers a stripped file lacks are
regenerated (constants of the window size). Nothing is written unless the
keys fit. Runs from any directory.
"""
import argparse
import math
import os
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Any, Dict, Mapping, Tuple

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmengine.config import Config  # noqa: E402

# importing the package registers SOLIDERSwinTransformer
from projects.saip_dpal.models.utils.checkpoint_loading import (  # noqa: E402
    build_for_key_check, check_teacher_state_dict, format_key_report,
    tensor_state, unwrap_checkpoint)
from projects.saip_dpal.utils import (InputDataError, one_line,  # noqa: E402
                                      read_checkpoint)
from projects.saip_dpal.utils.model_zoo import zoo_root  # noqa: E402

#: the teacher config (``configs/_base_/models/``) the weights load into
TEACHER_CONFIG = 'teacher_soliderb.py'

_SOLIDER_PREFIXES = ('module.backbone.', 'backbone.')
_OUT_NORM = re.compile(r'^norm(\d+)\.')


def teacher_config(img_size=None) -> dict:
    """The ``teacher`` model dict of the SOLIDER-B config file (from the
    checkout, or the installed package's ``projects/.mim``), with
    ``img_size`` (h, w) if given."""
    path = osp.join(zoo_root(), 'configs', '_base_', 'models',
                    TEACHER_CONFIG)
    cfg = Config.fromfile(path).teacher.to_dict()
    if img_size is not None:
        cfg['img_size'] = tuple(img_size)
    return cfg


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
        (state_dict, report): the tensors and a dict with ``renamed``
        (always empty), ``dropped`` and ``added`` (key -> reason) and
        ``unknown`` (keys that are no Swin backbone key, kept so that a
        strict check reports them).
    """
    if which not in ('teacher', 'student'):
        raise ValueError(f"which must be 'teacher' or 'student', got "
                         f'{which!r}')
    if isinstance(obj, Mapping) and which in obj and isinstance(
            obj[which], Mapping):
        obj = obj[which]
    elif isinstance(obj, Mapping) and ('teacher' in obj or 'student' in obj):
        raise InputDataError(f'SOLIDER checkpoint has no {which!r} weights')
    state = tensor_state(unwrap_checkpoint(obj, ('state_dict', 'model')),
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a SOLIDER Swin checkpoint into a '
        'SOLIDERSwinTransformer state dict (DPAL teacher SOLIDER-B).')
    parser.add_argument('src', help='SOLIDER checkpoint (.pth)')
    parser.add_argument('dst', help='output file (.pth)')
    parser.add_argument(
        '--which',
        choices=['teacher', 'student'],
        default='teacher',
        help='which weights of a training checkpoint to take (default: '
        'teacher, the ones SOLIDER releases)')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        default=(256, 128),
        metavar=('H', 'W'),
        help='input size of the teacher config (default: 256 128)')
    return parser, parser.parse_args(argv)


def main(argv=None):
    parser, args = parse_args(argv)
    cfg = teacher_config(args.img_size)
    try:
        ckpt = read_checkpoint(args.src)
        state, report = convert_solider_state_dict(
            ckpt, which=args.which, out_indices=cfg['out_indices'])
    except InputDataError as err:
        parser.exit(1, f'error: {one_line(err)}\n')
    model = build_for_key_check(cfg)
    found = check_teacher_state_dict(model, state)

    print(f'{args.src} ({args.which}) -> SOLIDERSwinTransformer '
          f"arch {cfg['arch']!r}")
    for line in format_key_report(report, found, len(state)):
        print(line)
    if found['missing'] or found['unexpected'] or found['mismatched']:
        parser.exit(
            1, f'error: {args.src} does not convert into a SOLIDER-B '
            f'teacher ({len(found["missing"])} missing, '
            f'{len(found["unexpected"])} unexpected, '
            f'{len(found["mismatched"])} shape mismatch); nothing written\n')

    meta = dict(
        source='SOLIDER',
        which=args.which,
        converted_from=osp.basename(args.src),
        converter='tools/model_converters/solider2mmpretrain.py',
        teacher_config=cfg)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), args.dst)
    print(f'wrote {args.dst}')


if __name__ == '__main__':
    main()
