"""Let ``torch.load(weights_only=True)`` read mmengine's own checkpoints.

torch >= 2.6 loads weights-only by default and mmengine 0.10.7 calls
``torch.load`` without ``weights_only``, so resuming fails on the objects the
message hub and meta hold. Rather than switching weights-only loading off (a
downloaded teacher checkpoint is an untrusted file), allow-list exactly the
classes that Runner checkpoints contain; any other global still fails.

One more object would need ``builtins.getattr``, which must never be
allow-listed (it reaches any attribute of any allowed class): mmengine's
``HistoryBuffer`` pickles its built-in statistics functions
(``HistoryBuffer.min`` ...). Every buffer registers those four again on
construction, so our checkpoints are written without them.
"""
import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')


def checkpoint_safe_globals() -> list:
    """The globals found in Runner checkpoints besides torch's own.

    * ``HistoryBuffer``: the message hub's logged scalars;
    * numpy arrays, their dtypes and scalars: inside the history buffers and
      in ``meta`` (e.g. the seed or a metric stored as a numpy scalar).
    """
    dtypes = [np.float64, np.float32, np.float16, np.int64, np.int32,
              np.int16, np.int8, np.uint64, np.uint32, np.uint16, np.uint8,
              np.bool_]  # mmpose's dataset_meta holds uint8 colour arrays
    return [
        HistoryBuffer,
        np.core.multiarray._reconstruct,
        np.core.multiarray.scalar,
        np.ndarray,
        np.dtype,
        *[type(np.dtype(t)) for t in dtypes],
    ]


def _history_buffer_state(self) -> dict:
    """``HistoryBuffer`` state without the built-in statistics functions
    (mmengine's own ``__getstate__`` pickles them through ``getattr``)."""
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    custom = {
        k: v
        for k, v in self._statistics_methods.items()
        if k not in _BUILTIN_STATISTICS
    }
    if custom:
        state['statistics_methods'] = custom
    return state


def register_checkpoint_safe_globals() -> None:
    """Add :func:`checkpoint_safe_globals` to torch's weights-only allow-list
    and write ``HistoryBuffer`` without its built-in statistics functions.

    Idempotent; the allow-list part is a no-op on torch versions without
    ``add_safe_globals``.
    """
    HistoryBuffer.__getstate__ = _history_buffer_state
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(checkpoint_safe_globals())
