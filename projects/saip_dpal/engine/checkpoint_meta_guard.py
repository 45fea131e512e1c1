"""Keep the Runner from executing config text stored in a checkpoint.

On resume, mmengine's ``Runner.resume`` (and ``FlexibleRunner.resume``) run
``Config.fromstring`` on ``meta['config']`` (only to compare GPU counts),
which executes the text as Python; mmengine's inferencers execute the
``cfg`` text of the message hub. Importing the plugin wraps
``Runner.load_checkpoint`` (used by ``resume`` and ``load_from``, so by
``tools/train.py --resume`` and ``tools/test.py``, ours and the toolboxes')
and ``FlexibleRunner.resume`` / ``load_checkpoint``: every config text in
the loaded checkpoint (``meta['cfg']``, ``meta['config']``,
``message_hub['runtime_info']['cfg']``) is parsed without running it
(:func:`parse_config_text`), a file whose text is anything but plain values
is refused with one line, and ``meta['config']`` is then dropped so
mmengine never parses it.
"""
import functools
import os
import os.path as osp
import pickle
from typing import Mapping

from ..models.utils.checkpoint_loading import weights_only_refusal
from ..utils.config_text import parse_config_text
from ..utils.errors import InputDataError

CONFIG_META_KEYS = ('cfg', 'config')


def _config_texts(checkpoint: Mapping):
    """``(where, text)`` of each config text a checkpoint can carry."""
    meta = checkpoint.get('meta')
    if isinstance(meta, dict):
        for key in CONFIG_META_KEYS:
            if key in meta:
                yield f"meta['{key}']", meta[key]
    hub = checkpoint.get('message_hub')
    info = hub.get('runtime_info') if isinstance(hub, dict) else None
    if isinstance(info, dict) and 'cfg' in info:
        yield "message_hub['runtime_info']['cfg']", info['cfg']


def check_checkpoint_meta(checkpoint: Mapping, name: str) -> None:
    """Refuse ``checkpoint`` if it holds config text that is not plain
    values; drop ``meta['config']``."""
    if not isinstance(checkpoint, Mapping):
        return
    for where, text in _config_texts(checkpoint):
        parse_config_text(text, f'checkpoint {name} {where}')
    meta = checkpoint.get('meta')
    if isinstance(meta, dict):
        meta.pop('config', None)


def _file_name(filename) -> str:
    return osp.basename(os.fspath(filename)) if isinstance(
        filename, (str, os.PathLike)) else str(filename)


def _guarded(load_checkpoint):

    @functools.wraps(load_checkpoint)
    def guarded(self, filename, *args, **kwargs):
        try:
            checkpoint = load_checkpoint(self, filename, *args, **kwargs)
        except (pickle.UnpicklingError, EOFError, OSError,
                RuntimeError) as err:
            # a pickle that needs other globals, or a broken file: one line
            # instead of torch's advice to load it unsafely
            if isinstance(err, RuntimeError) and \
                    'PytorchStreamReader' not in str(err):
                raise
            if isinstance(err, FileNotFoundError):
                raise InputDataError(
                    f'checkpoint not found: {filename}') from None
            raise InputDataError(
                f'checkpoint {filename} cannot be read weights-only: '
                f'{weights_only_refusal(err)}') from None
        check_checkpoint_meta(checkpoint, _file_name(filename))
        return checkpoint

    guarded.checks_config_text = True
    return guarded


def _guarded_flexible(load):
    """``FlexibleRunner`` loads through its strategy, which hands the
    checkpoint to the ``after_load_checkpoint`` hooks before the runner
    reads ``meta['config']``: the check runs there."""

    @functools.wraps(load)
    def guarded(self, filename, *args, **kwargs):
        call_hook = self.call_hook

        def checked(fn_name, **hook_kwargs):
            if fn_name == 'after_load_checkpoint':
                check_checkpoint_meta(hook_kwargs['checkpoint'],
                                      _file_name(filename))
            return call_hook(fn_name, **hook_kwargs)

        self.call_hook = checked
        try:
            return load(self, filename, *args, **kwargs)
        finally:
            del self.call_hook

    guarded.checks_config_text = True
    return guarded


def guard_runner_checkpoint_meta() -> None:
    """Wrap the checkpoint loading of ``Runner`` and ``FlexibleRunner``
    (idempotent)."""
    from mmengine.runner import FlexibleRunner, Runner
    if not getattr(Runner.load_checkpoint, 'checks_config_text', False):
        Runner.load_checkpoint = _guarded(Runner.load_checkpoint)
    for method in ('resume', 'load_checkpoint'):
        if not getattr(getattr(FlexibleRunner, method),
                       'checks_config_text', False):
            setattr(FlexibleRunner, method,
                    _guarded_flexible(getattr(FlexibleRunner, method)))
