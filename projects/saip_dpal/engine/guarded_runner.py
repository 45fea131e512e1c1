"""The Runner our configs select (``runner_type='GuardedRunner'``).

mmengine's ``Runner`` with what our runs need and nothing changed for
anyone else's: it is a subclass, chosen by a config, so another model's
Runner in the same process is mmengine's own.

- **Checkpoints are untrusted files.** ``load_from``, ``resume`` and
  ``tools/test.py`` read a file or URL weights-only
  (:func:`read_checkpoint`); any config text it carries must be plain
  values (:func:`check_config_texts`). ``meta['config']`` is dropped
  (mmengine's ``resume`` would execute it to count GPUs), and so is the
  file's stored ``cfg`` in the message hub: a resumed run carries its own
  config into its checkpoints, never the one of the file it came from.
- **Checkpoints it writes read weights-only anywhere**: the message hub's
  logged scalars are stored as tensors (:func:`plain_logged_scalars`)
  instead of mmengine's ``HistoryBuffer`` objects, and made buffers again
  on resume.
- **The console shows progress, not config**: the start-up blocks become
  a line each (:class:`ConsoleLogFilter`); a config's
  ``console_log_level='ERROR'`` keeps the rest for the log file; and the stack's known harmless
  warnings (:data:`KNOWN_WARNINGS`) are ignored while it builds and runs.
- **The config text is formatted once** (:class:`CachedTextConfig`): yapf
  takes about 1-3 s for our configs and a Runner reads it five times.
"""
import collections
import os
import os.path as osp
from typing import Any, Mapping

import numpy as np
import torch
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from ..utils.errors import InputDataError
from ..utils.untrusted_files import (LoggedScalars, check_config_texts,
                                     read_checkpoint, read_last_checkpoint)
from .hooks.signal_checkpoint_hook import SignalCheckpointHook
from .console_log_filter import add_console_filters, known_warnings_ignored

_FORMATTED = collections.OrderedDict()
_FORMATTED_SIZE = 8


class CachedTextConfig(Config):
    """A ``Config`` whose ``pretty_text`` is formatted by yapf once per
    distinct text (memoised on the unformatted text, so any change to the
    config is a new entry and the result is mmengine's own)."""

    @classmethod
    def of(cls, cfg: Any) -> Any:
        """``cfg`` (a Config or dict) as a :class:`CachedTextConfig`."""
        if cfg is None or isinstance(cfg, cls):
            return cfg
        if not isinstance(cfg, Config):
            cfg = Config(cfg)
        cached = cls.__new__(cls)
        cached.__setstate__(cfg.__getstate__())
        return cached

    @property
    def pretty_text(self) -> str:
        text = Config.pretty_text.fget
        if not self._format_python_code:
            return text(self)
        object.__setattr__(self, '_format_python_code', False)
        try:
            raw = text(self)
        finally:
            object.__setattr__(self, '_format_python_code', True)
        if raw in _FORMATTED:
            _FORMATTED.move_to_end(raw)
        else:
            _FORMATTED[raw] = text(self)
            if len(_FORMATTED) > _FORMATTED_SIZE:
                _FORMATTED.popitem(last=False)
        return _FORMATTED[raw]


def _python_scalars(node: Any) -> Any:
    """``node`` with numpy scalars (e.g. the timer's ETA) as Python ones."""
    if isinstance(node, np.generic):
        return node.item()
    if isinstance(node, dict):
        return {k: _python_scalars(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)) and not hasattr(node, '_fields'):
        return type(node)(_python_scalars(v) for v in node)
    return node


def plain_logged_scalars(checkpoint: dict) -> None:
    """In a checkpoint about to be saved, replace the message hub's
    ``HistoryBuffer`` objects by ``{'log_history', 'count_history',
    'max_length'}`` (tensors and an int) and numpy scalars in the meta and
    the hub by Python ones. (numpy arrays, as in mmpose's dataset_meta,
    stay: :func:`read_checkpoint` reads them.)"""
    hub = checkpoint.get('message_hub')
    if not isinstance(hub, dict):
        return
    scalars = hub.get('log_scalars')
    for key, buffer in (scalars or {}).items():
        if hasattr(buffer, '_log_history'):
            scalars[key] = dict(
                log_history=torch.from_numpy(buffer._log_history.copy()),
                count_history=torch.from_numpy(buffer._count_history.copy()),
                max_length=int(buffer.max_length))
    for part in ('runtime_info', 'resumed_keys'):
        if isinstance(hub.get(part), dict):
            hub[part] = _python_scalars(hub[part])
    if isinstance(checkpoint.get('meta'), dict):
        checkpoint['meta'] = _python_scalars(checkpoint['meta'])


def _history_buffer(value: Any):
    """A ``HistoryBuffer`` from what :func:`plain_logged_scalars` wrote or
    a weights-only read of a pickled buffer made (:class:`LoggedScalars`);
    anything else as it is (mmengine then skips it with a warning)."""
    from mmengine.logging import HistoryBuffer
    if isinstance(value, LoggedScalars):
        return value.history_buffer()
    if isinstance(value, Mapping) and set(value) == {
            'log_history', 'count_history', 'max_length'}:
        return HistoryBuffer(
            value['log_history'].numpy(), value['count_history'].numpy(),
            int(value['max_length']))
    return value


def _file_name(filename) -> str:
    filename = os.fspath(filename)
    return filename if '://' in filename else osp.basename(filename)


def prepare_loaded_checkpoint(checkpoint: Any, filename) -> Any:
    """Check a loaded checkpoint's config texts, drop ``meta['config']`` and
    the message hub's ``cfg``, and rebuild its logged scalars."""
    check_config_texts(checkpoint, _file_name(filename))
    if not isinstance(checkpoint, dict):
        return checkpoint
    meta = checkpoint.get('meta')
    if isinstance(meta, dict):
        meta.pop('config', None)
    hub = checkpoint.get('message_hub')
    if isinstance(hub, dict):
        info = hub.get('runtime_info')
        if isinstance(info, dict):
            info.pop('cfg', None)
        scalars = hub.get('log_scalars')
        if isinstance(scalars, dict):
            for key, value in scalars.items():
                scalars[key] = _history_buffer(value)
    return checkpoint


def _check_resumable(model, checkpoint: Any, name: str) -> None:
    """A resume continues the same model: every weight, the same shapes.

    Raises:
        InputDataError: the checkpoint's weights are another model's (one
            line with counts and an example of each difference).
    """
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else {}
    theirs = {k[len('module.'):] if k.startswith('module.') else k: v
              for k, v in state.items()}
    ours = model.state_dict()
    extra = [k for k in theirs if k not in ours]
    missing = [k for k in ours if k not in theirs]
    # an empty buffer is filled at run time (e.g. attribute positive ratios)
    reshaped = [k for k in ours if k in theirs and hasattr(theirs[k], 'shape')
                and ours[k].numel() and
                tuple(theirs[k].shape) != tuple(ours[k].shape)]
    if not (extra or missing or reshaped):
        return
    parts = []
    if extra:
        parts.append(f'{len(extra)} of its weights are not in this model '
                     f'(e.g. {extra[0]})')
    if missing:
        parts.append(f"{len(missing)} of the model's are not in it "
                     f'(e.g. {missing[0]})')
    if reshaped:
        k = reshaped[0]
        verb = 'has' if len(reshaped) == 1 else 'have'
        parts.append(f'{len(reshaped)} {verb} another shape (e.g. {k}: '
                     f'{tuple(theirs[k].shape)} vs {tuple(ours[k].shape)})')
    raise InputDataError(
        f'{name}: cannot resume from it, it was saved by another model: '
        f'{", ".join(parts)}; resume with the config it was trained with, '
        'or start from its weights with load_from')


@RUNNERS.register_module()
class GuardedRunner(Runner):
    """mmengine's ``Runner`` reading checkpoints as untrusted files, writing
    ones that read weights-only, with a quiet console (see the module)."""

    def __init__(self, *args, **kwargs):
        if 'cfg' in kwargs:
            kwargs['cfg'] = CachedTextConfig.of(kwargs['cfg'])
        with known_warnings_ignored():
            super().__init__(*args, **kwargs)

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        add_console_filters(logger, self.cfg.get('console_log_level'))
        return logger

    def train(self):
        try:
            with known_warnings_ignored():
                return super().train()
        finally:  # also when training ends by an error
            for hook in self.hooks:
                if isinstance(hook, SignalCheckpointHook):
                    hook.release(self)

    def val(self):
        with known_warnings_ignored():
            return super().val()

    def test(self):
        with known_warnings_ignored():
            return super().test()

    def call_hook(self, fn_name: str, **kwargs) -> None:
        super().call_hook(fn_name, **kwargs)
        if fn_name == 'before_save_checkpoint':
            plain_logged_scalars(kwargs['checkpoint'])

    def load_or_resume(self) -> None:
        """mmengine's, with ``work_dir/last_checkpoint`` checked first when
        it resumes the latest checkpoint (garbage in it is one line)."""
        if self._resume and self._load_from is None and not self._has_loaded:
            read_last_checkpoint(self.work_dir)
        super().load_or_resume()

    def load_checkpoint(self,
                        filename: str,
                        map_location='cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        """mmengine's ``load_checkpoint`` (``load_from``, ``resume``),
        reading the file through :func:`read_checkpoint` and
        :func:`prepare_loaded_checkpoint`."""
        checkpoint = prepare_loaded_checkpoint(
            read_checkpoint(filename, 'checkpoint', map_location), filename)
        try:
            self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        except InputDataError as err:  # a hook refuses it: name the file
            raise InputDataError(f'{_file_name(filename)}: {err}') from None
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        if getattr(self, '_resume', False):
            _check_resumable(model, checkpoint, _file_name(filename))
        checkpoint = _load_checkpoint_to_model(
            model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
