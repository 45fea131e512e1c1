"""Reading files that someone else may have made, without running them.

Every checkpoint, backbone file and stored config text this package reads
goes through this module:

- :func:`read_checkpoint`: a local file or a URL (``http(s)://``,
  ``open-mmlab://``, ``torchvision://``, ``mmcls://``; downloaded into
  torch's hub cache first) read with ``torch.load(weights_only=True)``. Only
  numpy arrays and the message hub's logged scalars are accepted beyond
  torch's own types, and only while the file is read: the scalars arrive as
  plain :class:`LoggedScalars`, never as mmengine's ``HistoryBuffer``
  (whose unpickling writes class-wide state);
- :func:`parse_config_text` / :func:`check_config_texts`: config text
  stored in a checkpoint, parsed into plain values instead of executed, and
  refused if it holds anything else, mmengine's ``{{ ... }}`` substitutions
  included (mmengine replaces them as text before it parses a config, so a
  plain string could become code there);
- :func:`read_backbone_file` and :func:`build_recorded_backbone`: the
  architecture a file records is built only from a closed list of backbone
  types with plain-value arguments, never through the registry's import of
  a dotted path.

A refusal is one :class:`InputDataError` line naming the file.
"""
import ast
import os
import os.path as osp
import pickle
import re
import warnings
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from .errors import InputDataError

__all__ = [
    'LoggedScalars', 'read_checkpoint', 'weights_only_refusal',
    'parse_config_text', 'check_config_texts', 'read_backbone_file',
    'backbone_state', 'recorded_backbone_cfg', 'build_recorded_backbone',
    'BACKBONE_PREFIX'
]

#: where a backbone file (``extract_backbone.py``) keeps its weights: the
#: layout of a whole mmpretrain model, so that ``load_from``,
#: ``get_model(pretrained=FILE)`` and ``Pretrained`` with
#: ``prefix='backbone.'`` read it as they read any mmpretrain checkpoint
BACKBONE_PREFIX = 'backbone.'


# ------------------------------------------------------------ checkpoints
class LoggedScalars:
    """What a weights-only read makes of a pickled mmengine
    ``HistoryBuffer``: its attributes as plain data, nothing else run.
    :meth:`history_buffer` turns it into a new buffer."""

    def __setstate__(self, state: dict) -> None:
        self.state = dict(state)

    def history_buffer(self):
        from mmengine.logging import HistoryBuffer
        state = self.state
        return HistoryBuffer(
            list(state.get('_log_history', [])),
            list(state.get('_count_history', [])),
            int(state.get('max_length', 1000000)))


def _method_name(owner: Any, name: str) -> str:
    """Stands in for ``getattr`` while a checkpoint is read: a stock
    ``HistoryBuffer`` pickles its ``statistics_methods`` as
    ``getattr(buffer, 'mean')``; here that becomes the string ``'mean'``,
    and no attribute of anything is looked up."""
    return str(name)


_NUMPY_DTYPES = (np.float64, np.float32, np.float16, np.int64, np.int32,
                 np.int16, np.int8, np.uint64, np.uint32, np.uint16, np.uint8,
                 np.bool_)


def _read_globals() -> list:
    """Globals a weights-only read accepts beyond torch's own, while it
    reads: numpy arrays, dtypes and scalars (logged values, mmpose's
    dataset_meta colours), mmengine's pickled ``HistoryBuffer`` mapped to
    :class:`LoggedScalars` and the ``getattr`` its stock pickle calls mapped
    to :func:`_method_name`."""
    return [
        np.core.multiarray._reconstruct, np.core.multiarray.scalar,
        np.ndarray, np.dtype, *[type(np.dtype(t)) for t in _NUMPY_DTYPES],
        (LoggedScalars, 'mmengine.logging.history_buffer.HistoryBuffer'),
        (_method_name, 'builtins.getattr')
    ]


def weights_only_refusal(err: BaseException) -> str:
    """The reason in torch's weights-only error, without its advice to
    load the file unsafely."""
    text = str(err)
    found = re.search(r'Unsupported global: GLOBAL (\S+)', text)
    if found:
        return (f'it pickles {found.group(1)}, which is not allowed; '
                'nothing in it was run')
    found = re.search(r'WeightsUnpickler error:\s*([^\n]+)', text)
    if found:
        return (f'damaged, or not a torch checkpoint '
                f'({found.group(1).strip()}); nothing in it was run')
    lines = text.strip().splitlines()
    first = lines[0] if lines else type(err).__name__
    if first.startswith('Weights only load failed'):
        # torch's advice to load it unsafely, never repeated
        return 'damaged, or not a torch checkpoint; nothing in it was run'
    if isinstance(err, pickle.UnpicklingError):
        return first
    return f'truncated, or not a torch checkpoint ({first.split(". ")[0]})'


#: URL schemes read (downloaded, then weights-only), as mmengine names them
URL_SCHEMES = ('http://', 'https://', 'open-mmlab://', 'openmmlab://',
               'torchvision://', 'modelzoo://', 'mmcls://')


def _is_url(source: str) -> bool:
    return '://' in source


def _resolve_url(url: str) -> Tuple[str, bool]:
    """``(http url or local path, is_mmcls)`` of a model-zoo URL."""
    from mmengine.runner import checkpoint as ckpt
    scheme, name = url.split('://', 1)
    if scheme in ('http', 'https'):
        return url, False
    if scheme in ('torchvision', 'modelzoo'):
        table = ckpt.get_torchvision_models()
    elif scheme == 'mmcls':
        table = ckpt.get_mmcls_models()
    else:
        table = ckpt.get_external_models()
        name = ckpt.get_deprecated_model_names().get(name, name)
    if name not in table:
        raise InputDataError(f'{url}: no model {name!r} in the {scheme}:// '
                             'model zoo')
    target = table[name]
    if not target.startswith(('http://', 'https://')):
        target = osp.join(ckpt._get_mmengine_home(), target)
    return target, scheme == 'mmcls'


def read_checkpoint(source: Any,
                    what: str = 'checkpoint',
                    map_location='cpu') -> Any:
    """A checkpoint file or URL, read weights-only.

    Args:
        source: a path, or a URL of :data:`URL_SCHEMES` (downloaded into
            ``torch.hub.get_dir()/checkpoints`` once).
        what: what to call it in errors (``'init_cfg checkpoint'``).
        map_location: as :func:`torch.load`.

    Raises:
        InputDataError: missing file, an unknown URL scheme, or a pickle
            that needs anything beyond tensors, plain containers and
            :func:`_read_globals` (nothing in it is run).
    """
    source = os.fspath(source)
    is_mmcls = False
    with torch.serialization.safe_globals(_read_globals()), \
            warnings.catch_warnings():
        # a foreign pickle protocol: the refusal below says what is wrong
        warnings.filterwarnings('ignore', 'Detected pickle protocol')
        try:
            if _is_url(source):
                if not source.startswith(URL_SCHEMES):
                    raise InputDataError(
                        f'{what} {source}: only files and '
                        f'{", ".join(URL_SCHEMES)} URLs are read')
                target, is_mmcls = _resolve_url(source)
                if _is_url(target):
                    obj = torch.hub.load_state_dict_from_url(
                        target, map_location=map_location, progress=False,
                        weights_only=True)
                else:
                    obj = _read_file(target, what, map_location)
            else:
                obj = _read_file(source, what, map_location)
        except InputDataError:
            raise
        except (pickle.UnpicklingError, RuntimeError, EOFError, OSError,
                ValueError, AttributeError, TypeError) as err:
            raise InputDataError(
                f'{what} {source} cannot be read weights-only: '
                f'{weights_only_refusal(err)}') from None
    if is_mmcls:
        from mmengine.runner.checkpoint import _process_mmcls_checkpoint
        obj = _process_mmcls_checkpoint(obj)
    return obj


def read_last_checkpoint(work_dir: str) -> Optional[str]:
    """The path ``work_dir/last_checkpoint`` names, None without one.

    Raises:
        InputDataError: the file is not a path (binary garbage, a partial
            write of something else).
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer, 'rb') as f:
        raw = f.read(4097)
    try:
        path = raw.decode('utf-8').strip()
    except UnicodeDecodeError:
        path = None
    if path is None or len(raw) > 4096 or '\n' in path or '\0' in path:
        raise InputDataError(
            f'{pointer} does not hold a checkpoint path: delete it to '
            'start afresh, or resume from a file with --resume FILE')
    return path


def _read_file(path: str, what: str, map_location):
    if not osp.isfile(path):
        raise InputDataError(f'{what} not found: {path}')
    return torch.load(path, map_location=map_location, weights_only=True)


# ------------------------------------------------------------ config text
class _Refused(Exception):

    def __init__(self, node: ast.AST, why: str):
        super().__init__(why)
        self.node = node


#: what mmengine substitutes in config text before parsing it
#: (``{{ fileDirname }}``, ``{{ $ENV:default }}``, ``{{ _base_.key }}``)
_SUBSTITUTION = re.compile(r'\{\{.*?\}\}', re.S)


def _value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(
            node.op, (ast.UAdd, ast.USub)) and isinstance(
                node.operand, ast.Constant) and isinstance(
                    node.operand.value, (int, float, complex)):
        v = node.operand.value
        return -v if isinstance(node.op, ast.USub) else v
    try:
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            kind = {ast.List: list, ast.Tuple: tuple,
                    ast.Set: set}[type(node)]
            return kind(_value(e) for e in node.elts)
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise _Refused(node, '** unpacking')
            return {_value(k): _value(v)
                    for k, v in zip(node.keys, node.values)}
    except TypeError:  # e.g. a set of sets
        raise _Refused(node, 'an unhashable key or member') from None
    if isinstance(node, ast.Call) and isinstance(
            node.func, ast.Name) and node.func.id == 'dict':
        if node.args or any(k.arg is None for k in node.keywords):
            raise _Refused(node, 'dict() with positional or ** arguments')
        return {k.arg: _value(k.value) for k in node.keywords}
    what = 'a call' if isinstance(node, ast.Call) else \
        f'a {type(node).__name__} expression'
    raise _Refused(node, what)


def parse_config_text(text: str, where: str = 'config text') -> Dict:
    """The top-level settings of stored config text, as plain values.

    Args:
        text (str): Python source as ``Config.pretty_text`` writes it.
        where (str): What to name in errors, e.g. ``"ckpt.pth meta['cfg']"``.

    Returns:
        dict: ``{name: value}`` of every assignment (nested dicts, lists,
        tuples, numbers, strings, booleans, None).

    Raises:
        InputDataError: the text is not valid Python, holds a statement
            other than a plain assignment, any other expression (a call
            other than ``dict(...)``, a name, an operator, a lambda, ...),
            a ``_base_`` (which would load other files), or a ``{{ ... }}``
            that mmengine would substitute before parsing.
    """
    if not isinstance(text, str):
        raise InputDataError(f'{where} is a {type(text).__name__}, not text')
    try:
        tree = ast.parse(text)
    except SyntaxError as err:
        raise InputDataError(f'{where} is not valid config text (line '
                             f'{err.lineno}: {err.msg})') from None
    found = _SUBSTITUTION.search(text)
    if found:
        line = text.count('\n', 0, found.start()) + 1
        raise InputDataError(
            f'{where} line {line}: {found.group(0)[:60]!r} is a substitution '
            'mmengine makes before parsing (it could turn the text into '
            'code); stored config text is read without running it')
    values = {}
    try:
        for stmt in tree.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)):
                raise _Refused(stmt, f'a {type(stmt).__name__} statement')
            name = stmt.targets[0].id
            if name == '_base_':
                raise _Refused(stmt, '_base_ (it would load other files)')
            values[name] = _value(stmt.value)
    except _Refused as refused:
        node = refused.node
        snippet = ast.get_source_segment(text, node) or ''
        snippet = ' '.join(snippet.split())[:60]
        raise InputDataError(
            f'{where} line {getattr(node, "lineno", "?")}: {refused} '
            f'({snippet!r}) is not a plain value; stored config text is '
            'read without running it') from None
    return values


def _config_texts(checkpoint: Mapping):
    """``(where, text)`` of each config text a checkpoint can carry."""
    meta = checkpoint.get('meta')
    if isinstance(meta, dict):
        for key in ('cfg', 'config'):
            if key in meta:
                yield f"meta['{key}']", meta[key]
    hub = checkpoint.get('message_hub')
    info = hub.get('runtime_info') if isinstance(hub, dict) else None
    if isinstance(info, dict) and 'cfg' in info:
        yield "message_hub['runtime_info']['cfg']", info['cfg']


def check_config_texts(checkpoint: Any, name: str) -> None:
    """Refuse ``checkpoint`` if any config text it carries
    (``meta['cfg']``, ``meta['config']``, the message hub's ``cfg``) is not
    plain values."""
    if isinstance(checkpoint, Mapping):
        for where, text in _config_texts(checkpoint):
            parse_config_text(text, f'checkpoint {name} {where}')


# ---------------------------------------------------------- backbone files
def backbone_state(state: Mapping, name: str) -> dict:
    """A backbone file's weights with bare backbone keys
    (``patch_embed...``): :data:`BACKBONE_PREFIX` removed where every key
    has it."""
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise InputDataError(f'{name} holds no tensors')
    if all(k.startswith(BACKBONE_PREFIX) for k in tensors):
        n = len(BACKBONE_PREFIX)
        return {k[n:]: v for k, v in tensors.items()}
    return tensors


def read_backbone_file(path: str) -> Tuple[dict, Optional[dict]]:
    """``(bare backbone weights, recorded architecture or None)`` of a file
    written by ``extract_backbone.py``, read weights-only."""
    ckpt = read_checkpoint(path, what='backbone file')
    if not isinstance(ckpt, Mapping):
        raise InputDataError(f'{path} is not a backbone file (a dict)')
    meta = ckpt.get('meta')
    recorded = meta.get('backbone') if isinstance(meta, Mapping) else None
    return backbone_state(ckpt.get('state_dict', ckpt),
                          f'backbone file {path}'), recorded


#: backbone types a recorded architecture may name (in mmpretrain's scope)
RECORDED_BACKBONES = ('VisionTransformer', 'SwinTransformer')
#: layer types its nested configs (``norm_cfg``, ``act_cfg``) may name
RECORDED_LAYERS = ('LN', 'GELU', 'BN', 'SyncBN')


def _check_plain(value: Any, where: str, path: str) -> None:
    """Plain values only; nested ``type`` keys only of
    :data:`RECORDED_LAYERS`."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputDataError(f'{where}: key {key!r} of {path} is '
                                     'not a name')
            if key == 'type' and path and item not in RECORDED_LAYERS:
                raise InputDataError(
                    f'{where}: {path}.type={item!r} is not one of '
                    f'{", ".join(RECORDED_LAYERS)}; nothing was built')
            _check_plain(item, where, f'{path}.{key}' if path else key)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, where, f'{path}[{i}]')
    elif not isinstance(value, (str, int, float, bool, type(None))):
        raise InputDataError(f'{where}: {path} is a {type(value).__name__}, '
                             'not a plain value; nothing was built')


def recorded_backbone_cfg(arch: Any, where: str) -> dict:
    """A recorded architecture (``meta['backbone']``) as a config to build
    in mmpretrain's scope, once it is checked: one of
    :data:`RECORDED_BACKBONES` (optionally ``mmpretrain.``-scoped) with
    plain-value arguments; ``init_cfg`` is dropped.

    Raises:
        InputDataError: another type, or an argument that is not a plain
            value.
    """
    if not isinstance(arch, Mapping) or 'type' not in arch:
        raise InputDataError(f'{where} records no backbone architecture')
    cfg = dict(arch)
    kind = cfg.pop('type')
    if not isinstance(kind, str) or kind.split('mmpretrain.', 1)[-1] \
            not in RECORDED_BACKBONES:
        raise InputDataError(
            f'{where} records a {kind!r} backbone; only '
            f'{", ".join(RECORDED_BACKBONES)} are built from a file')
    cfg.pop('init_cfg', None)
    _check_plain(cfg, where, '')
    return dict(cfg, type=kind.split('mmpretrain.', 1)[-1])


def build_recorded_backbone(arch: Any, where: str,
                            **overrides) -> nn.Module:
    """Build the backbone a file records (:func:`recorded_backbone_cfg`),
    ``overrides`` (trusted, from our code) replacing arguments; nothing is
    built or imported for a refused one."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    cfg = dict(recorded_backbone_cfg(arch, where), **overrides)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)
