"""Backbone weights out of a pretraining checkpoint, for downstream use."""
from collections import Counter, OrderedDict
from typing import Dict, Mapping, Optional, Tuple

from ...utils.errors import InputDataError
from ...utils.untrusted_files import (BACKBONE_PREFIX, backbone_state,
                                      build_recorded_backbone,
                                      parse_config_text, read_checkpoint,
                                      recorded_backbone_cfg)

#: where the student backbone and its EMA copy (the momentum encoder's
#: backbone) live in our checkpoints, then in older ones (DPAL, SAIP)
STUDENT_PREFIXES = ('backbone.', )
EMA_PREFIXES = ('momentum_encoder.module.backbone.', 'ema_backbone.module.',
                'teacher.module.backbone.')
#: pretraining-only parts of a backbone (SAIP's intermediate LayerNorm)
PRETRAIN_ONLY = ('inter_norm.', )
#: prefixes of the authors' released files ({'student': ..., 'teacher': ...})
WRAPPERS = ('module.', 'backbone.')


def _strip_wrappers(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for w in WRAPPERS:
            if key.startswith(w):
                key, changed = key[len(w):], True
    return key


def extract_backbone_state(checkpoint: Mapping,
                           ema: bool = False,
                           keep_pretrain_only: bool = False,
                           name: str = 'checkpoint'
                           ) -> Tuple['OrderedDict', Dict]:
    """Backbone tensors with mmpretrain keys (no prefix) and a report.

    Reads our Runner checkpoints (``state_dict`` with ``backbone.`` and, for
    the EMA copy, ``momentum_encoder.module.backbone.``, or in older ones
    ``ema_backbone.module.`` (DPAL) and ``teacher.module.backbone.`` (SAIP))
    and the authors' released layout
    ``{'student': ..., 'teacher': ...}`` with ``module.`` / ``backbone.``
    prefixes (``ema`` picks ``teacher``).

    Returns:
        tuple: (state dict, report with ``source``, ``kept``, ``dropped``
        (top-level prefix -> count) and ``pretrain_only`` (dropped keys)).

    Raises:
        InputDataError: the checkpoint holds no such backbone.
    """
    if 'student' in checkpoint or 'teacher' in checkpoint:
        part = 'teacher' if ema else 'student'
        if part not in checkpoint:
            raise InputDataError(f'{name} has no {part!r} weights')
        weights = checkpoint[part]
        weights = weights.get('state_dict', weights)
        state = OrderedDict((_strip_wrappers(k), v)
                            for k, v in weights.items())
        source, dropped = part, Counter()
    else:
        weights = checkpoint.get('state_dict', checkpoint)
        prefixes = EMA_PREFIXES if ema else STUDENT_PREFIXES
        prefix: Optional[str] = next(
            (p for p in prefixes if any(k.startswith(p) for k in weights)),
            None)
        if prefix is None:
            what = 'EMA backbone' if ema else 'student backbone'
            raise InputDataError(f'{name} has no {what} (no key starts with '
                                 f'{" or ".join(prefixes)})')
        state = OrderedDict((k[len(prefix):], v) for k, v in weights.items()
                            if k.startswith(prefix))
        source = prefix
        dropped = Counter(
            k.split('.', 1)[0] for k in weights if not k.startswith(prefix))
    pretrain_only = [] if keep_pretrain_only else [
        k for k in state if k.startswith(PRETRAIN_ONLY)
    ]
    for k in pretrain_only:
        del state[k]
    return state, dict(
        source=source,
        kept=len(state),
        dropped=dict(dropped),
        pretrain_only=pretrain_only)


#: our pretraining backbones -> (plain mmpretrain type, pretraining-only args)
PLAIN_BACKBONES = {
    'SAIPVisionTransformer': ('VisionTransformer', ('inter_index', )),
    'MAEViT': ('VisionTransformer', ('mask_ratio', )),  # the MAE baseline
}
#: backbone arguments a downstream config chooses for itself
DOWNSTREAM_ARGS = ('init_cfg', 'out_type', 'out_indices', 'frozen_stages',
                   'drop_path_rate', 'drop_rate', 'with_cp')


def plain_backbone_cfg(checkpoint: Mapping,
                       name: str = '<checkpoint>') -> Optional[dict]:
    """The architecture of a checkpoint's student as a plain mmpretrain
    backbone config, read from the training config that mmengine stores in
    ``meta['cfg']`` without running it (:func:`parse_config_text`; text
    that is not plain values is an :class:`InputDataError`); ``None`` when
    the checkpoint has none (the authors' files). Downstream choices (init,
    outputs, drop path) are left out."""
    text = (checkpoint.get('meta') or {}).get('cfg')
    if not isinstance(text, str):
        return None
    settings = parse_config_text(text, f"checkpoint {name} meta['cfg']")
    backbone = (settings.get('model') or {}).get('backbone')
    if not isinstance(backbone, dict) or 'type' not in backbone:
        return None  # not a model config
    return plain_backbone(backbone)


def plain_backbone(backbone: Mapping) -> dict:
    """A pretraining backbone config as the plain mmpretrain one its
    extracted weights fit, without the downstream choices."""
    backbone = dict(backbone)
    scope, _, name = backbone['type'].rpartition('.')
    plain, pretrain_only = PLAIN_BACKBONES.get(name, (name, ()))
    backbone['type'] = f'{scope}.{plain}' if scope else plain
    for key in pretrain_only + DOWNSTREAM_ARGS:
        backbone.pop(key, None)
    return backbone


def unscoped_type(cfg: Dict) -> str:
    """A module config's type without its registry scope
    (``'mmpretrain.VisionTransformer'`` -> ``'VisionTransformer'``)."""
    return cfg['type'].rpartition('.')[2]


def patch_grid(img_size, patch_size: int = 16) -> Tuple[int, int]:
    """The ``(rows, cols)`` of patches of a ViT at ``img_size`` (h, w)."""
    size = (img_size, img_size) if isinstance(img_size, int) else img_size
    return size[0] // patch_size, size[1] // patch_size


def resize_recorded_grid(state: Dict, backbone: Optional[dict],
                         img_size: Tuple[int, int], name: str) -> dict:
    """Resize ``state['pos_embed']`` in place from the grid of the recorded
    architecture ``backbone`` to the one of ``img_size``; returns the
    architecture at ``img_size``."""
    from mmpretrain.models.utils import resize_pos_embed
    if not backbone or 'img_size' not in backbone or 'pos_embed' not in \
            state:
        raise InputDataError(
            f'{name}: --img-size needs a ViT whose architecture the '
            'checkpoint records (its training config)')
    patch = backbone.get('patch_size', 16)
    src, dst = patch_grid(backbone['img_size'], patch), patch_grid(
        img_size, patch)
    extra = state['pos_embed'].shape[1] - src[0] * src[1]
    state['pos_embed'] = resize_pos_embed(
        state['pos_embed'], src, dst,
        backbone.get('interpolate_mode', 'bicubic'), extra)
    return dict(backbone, img_size=tuple(img_size))


def export_backbone(src: str,
                    dst: str,
                    ema: bool = False,
                    keep_pretrain_only: bool = False,
                    img_size: Optional[Tuple[int, int]] = None) -> Dict:
    """Write the backbone of the pretraining checkpoint ``src`` to ``dst``
    as ``{'state_dict': {'backbone.<key>': ...}, 'meta': {..., 'backbone':
    cfg}}``, the layout of an mmpretrain model without its head
    (``cfg`` from :func:`plain_backbone_cfg`); with ``img_size`` (h, w) a
    ViT's position embedding is resized to that input, and so recorded.
    Returns the extraction report plus ``meta``.

    Raises:
        InputDataError: ``src`` is missing, unreadable or has no backbone.
    """
    import os
    import os.path as osp

    import torch

    ckpt = read_checkpoint(src, what='checkpoint')
    state, report = extract_backbone_state(
        ckpt, ema=ema, keep_pretrain_only=keep_pretrain_only, name=src)
    arch = plain_backbone_cfg(ckpt, osp.basename(src))
    meta = dict(
        source=osp.basename(src),
        part=report['source'],
        ema=ema,
        # only an architecture that a reader may build is recorded
        backbone=None if arch is None else recorded_backbone_cfg(
            arch, f'checkpoint {osp.basename(src)}'),
        extractor='tools/model_converters/extract_backbone.py')
    if img_size is not None:
        meta['backbone'] = resize_recorded_grid(state, meta['backbone'],
                                                img_size, src)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict={BACKBONE_PREFIX + k: v
                                for k, v in state.items()}, meta=meta), dst)
    return dict(report, meta=meta)


def build_backbone_from_file(path: str, ema: bool = False,
                             backbone_cfg: Optional[dict] = None):
    """The backbone a file holds, built and loaded strictly: an extracted
    backbone file or a pretraining checkpoint of ours (its recorded
    architecture, :func:`build_recorded_backbone`), or any checkpoint with
    ``backbone.`` keys given ``backbone_cfg`` (a trusted config; a
    pretraining backbone is built as its plain :func:`plain_backbone`); ViTs
    are set to return all tokens (``out_type='raw'``). ``ema`` takes a
    training checkpoint's momentum encoder."""
    ckpt = read_checkpoint(path, what='checkpoint')
    meta = ckpt.get('meta') if isinstance(ckpt, Mapping) else None
    if isinstance(meta, Mapping) and 'backbone' in meta:  # extracted
        state = backbone_state(ckpt.get('state_dict', ckpt), path)
        arch = meta['backbone']
    else:
        state, _ = extract_backbone_state(ckpt, ema=ema, name=path)
        arch = None if backbone_cfg else plain_backbone_cfg(ckpt, path)
    if backbone_cfg:
        from mmpretrain.registry import MODELS
        arch = dict(plain_backbone(backbone_cfg), init_cfg=None)
        arch['type'] = unscoped_type(arch)
        if arch['type'] == 'VisionTransformer':
            arch['out_type'] = 'raw'
        model = MODELS.build(arch)
    elif arch is None:
        raise InputDataError(f'{path} records no backbone architecture '
                             "(meta['backbone'] or meta['cfg']): give the "
                             'backbone config')
    else:
        raw = dict(out_type='raw') if unscoped_type(
            arch) == 'VisionTransformer' else {}
        model = build_recorded_backbone(arch, path, **raw)
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise InputDataError(
            f'{path} does not fit {unscoped_type(arch)}: '
            f'{len(result.missing_keys)} missing, '
            f'{len(result.unexpected_keys)} unexpected keys (e.g. '
            f'{(result.missing_keys + result.unexpected_keys)[0]})')
    return model
