"""Format a config's text with yapf once, not at every read.

mmengine's ``Config.pretty_text`` re-formats the whole config with yapf each
time it is read: about 1 s for ``dpal_pathb_vit-tiny.py`` on one core, 2.6 s
for a merged run config, and a Runner reads it four times before the first
iteration and once more per checkpoint. Importing the plugin memoises it on
the unformatted text (so the result is identical, and any change to the
config is a new entry).
"""
import collections
import functools

_CACHE_SIZE = 8


def _memoised(pretty_text):
    formatted = collections.OrderedDict()

    @functools.wraps(pretty_text)
    def cached(cfg):
        if not cfg._format_python_code:
            return pretty_text(cfg)
        object.__setattr__(cfg, '_format_python_code', False)
        try:
            raw = pretty_text(cfg)
        finally:
            object.__setattr__(cfg, '_format_python_code', True)
        if raw in formatted:
            formatted.move_to_end(raw)
        else:
            formatted[raw] = pretty_text(cfg)
            if len(formatted) > _CACHE_SIZE:
                formatted.popitem(last=False)
        return formatted[raw]

    cached.memoised = True
    return cached


def cache_config_pretty_text() -> None:
    """Memoise ``Config.pretty_text`` (idempotent)."""
    from mmengine.config import Config
    if not getattr(Config.pretty_text.fget, 'memoised', False):
        Config.pretty_text = property(_memoised(Config.pretty_text.fget))
