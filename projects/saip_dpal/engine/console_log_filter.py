"""Terminals show a run's progress, not its config.

A Runner starts by logging its environment (35 lines), its whole config
(about 400 lines for our configs), the order of its hooks (100 lines), one
line per parameter with its own lr or decay (100 more) and deprecation
notices of mmengine's own file client. :class:`GuardedRunner` puts a
:class:`ConsoleLogFilter` on its console handlers: on the console each of
those blocks becomes one line (or none). The log file keeps everything, and
the work dir has the config as a file.
"""
import contextlib
import logging
import re
import warnings

#: console records dropped: per-parameter optimizer settings, mmengine's
#: own deprecation notices (its checkpoint hook triggers them), mmseg's
#: metric named as mmseg's configs name it and the ReID BNNeck's bias, frozen
#: by design
DROPPED = ('paramwise_options -- ', '"FileClient" will be deprecated',
           '"HardDiskBackend" is the alias of "LocalBackend"',
           'The prefix is not set in metric class IoUMetric',
           'head.bnneck.bias is skipped since its requires_grad=False')


def _environment(message: str) -> str:
    found = dict(re.findall(r'^\s+(Python|PyTorch|CUDA available): (\S+)',
                            message, re.M))
    return ('Environment: ' + ', '.join(f'{k} {v}' for k, v in found.items())
            + ' (the rest in the log file)')


def _hooks(message: str) -> str:
    names = sorted(set(re.findall(r'^\([A-Z_ ]+\) (\w+)', message, re.M)))
    return f'Hooks: {", ".join(names)} (their order in the log file)'


def _config(message: str) -> str:
    return (f'Config: {message.count(chr(10))} lines, in the log file and '
            'the work dir')


#: console records shown as one line: (how the message starts, summary)
SUMMARISED = (('\n' + '-' * 60 + '\nSystem environment:', _environment),
              ('Hooks will be executed in the following order:', _hooks),
              ('Config:\n', _config))


class ConsoleLogFilter(logging.Filter):
    """On one console handler: the long start-up blocks as a line each."""

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self.handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(DROPPED):
            return False
        summary = next((fn(message) for start, fn in SUMMARISED
                        if message.startswith(start)), None)
        if summary is None:
            return True
        # the record itself goes on unchanged to the file handler
        self.handler.handle(logging.makeLogRecord(
            dict(record.__dict__, args=(), msg=summary)))
        return False


#: Python warnings of the stack that say nothing to act on in our runs:
#: (message start, module, why it is harmless)
KNOWN_WARNINGS = (
    ("Only use 'alpha' for pillow backend", 'mmcv.image.photometric',
     "mmpretrain's ColorJitter blends saturation with the pillow backend, "
     'which takes only the alpha it passes'),
    ('The draw is False, it means that the hook for visualization',
     'mmseg.engine.hooks.visualization_hook',
     "mmseg's standard visualisation hook, off unless --show/--show-dir"),
    ('``build_loss`` would be deprecated soon', 'mmseg.models.builder',
     "mmseg's own decode heads build their losses so"),
    ('The metainfo config file "configs/_base_/datasets/coco.py" does not '
     'exist', 'mmpose.datasets.datasets.utils',
     'mmpose reads the COCO keypoint metainfo from its installed copy, as '
     'its own configs do'),
)


@contextlib.contextmanager
def known_warnings_ignored():
    """Ignore :data:`KNOWN_WARNINGS` inside the block (the filters as they
    were come back after it)."""
    with warnings.catch_warnings():
        for message, module, _ in KNOWN_WARNINGS:
            warnings.filterwarnings('ignore', message=re.escape(message),
                                    module=re.escape(module))
        yield


def add_console_filters(logger: logging.Logger, level=None) -> None:
    """A :class:`ConsoleLogFilter` on each console handler of ``logger``,
    and ``level`` (e.g. ``'ERROR'``) on them if given."""
    for handler in logger.handlers:
        if type(handler) is not logging.StreamHandler:
            continue
        if not any(isinstance(f, ConsoleLogFilter) for f in handler.filters):
            handler.addFilter(ConsoleLogFilter(handler))
        if level is not None:
            handler.setLevel(level)
