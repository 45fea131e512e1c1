"""Keep the Runner from executing config text stored in a checkpoint.

On resume, mmengine's ``Runner.resume`` runs ``Config.fromstring`` on
``meta['config']`` (only to compare GPU counts), which executes the text as
Python. Importing the plugin wraps ``Runner.load_checkpoint`` (used by
``resume`` and ``load_from``, so by ``tools/train.py --resume`` and
``tools/test.py``, ours and the toolboxes'): every config text in the loaded
``meta`` is parsed without running it (:func:`parse_config_text`), a file
whose text is anything but plain values is refused with one line, and
``meta['config']`` is then dropped so mmengine never parses it.
"""
import functools
import os
import os.path as osp
from typing import Mapping

from ..utils.config_text import parse_config_text

CONFIG_META_KEYS = ('cfg', 'config')


def check_checkpoint_meta(checkpoint: Mapping, name: str) -> None:
    """Refuse ``checkpoint`` if its ``meta`` holds config text that is not
    plain values; drop ``meta['config']``."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) \
        else None
    if not isinstance(meta, dict):
        return
    for key in CONFIG_META_KEYS:
        if key in meta:
            parse_config_text(meta[key], f"checkpoint {name} meta['{key}']")
    meta.pop('config', None)


def _guarded(load_checkpoint):

    @functools.wraps(load_checkpoint)
    def guarded(self, filename, *args, **kwargs):
        checkpoint = load_checkpoint(self, filename, *args, **kwargs)
        name = osp.basename(os.fspath(filename)) if isinstance(
            filename, (str, os.PathLike)) else str(filename)
        check_checkpoint_meta(checkpoint, name)
        return checkpoint

    guarded.checks_config_text = True
    return guarded


def guard_runner_checkpoint_meta() -> None:
    """Wrap ``Runner.load_checkpoint`` (idempotent). mmengine's
    ``FlexibleRunner`` loads through its strategy and is not covered."""
    from mmengine.runner import Runner
    if not getattr(Runner.load_checkpoint, 'checks_config_text', False):
        Runner.load_checkpoint = _guarded(Runner.load_checkpoint)
