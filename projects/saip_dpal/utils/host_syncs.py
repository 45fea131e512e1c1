"""Count the host-device synchronisations of a block of code."""
import traceback
import warnings
from typing import List

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten

#: ops that read values on the host or whose output shape depends on them
VALUE_READS = {
    aten._local_scalar_dense.default, aten.nonzero.default,
    aten.masked_select.default, aten.unique_consecutive.default,
    aten._unique2.default, aten.repeat_interleave.Tensor,
    aten.equal.default, aten.is_nonzero.default
}


def _is_bool_index(func, args) -> bool:
    return func is aten.index.Tensor and any(
        i is not None and i.dtype == torch.bool for i in args[1])


def _is_blocking_upload(func, args, kwargs) -> bool:
    """A copy from the host to another device that the host waits for."""
    if func is aten._to_copy.default:
        device = kwargs.get('device')
        return (args[0].device.type == 'cpu' and device is not None
                and torch.device(device).type != 'cpu'
                and not kwargs.get('non_blocking', False))
    if func is aten.copy_.default:
        dst, src = args[0], args[1]
        non_blocking = args[2] if len(args) > 2 else kwargs.get(
            'non_blocking', False)
        return (src.device.type == 'cpu' and dst.device.type != 'cpu'
                and not non_blocking)
    return False


def _caller() -> str:
    """The innermost frame of this project or its tests outside torch."""
    for frame in reversed(traceback.extract_stack()):
        if '/torch/' not in frame.filename and \
                not frame.filename.endswith('host_syncs.py'):
            return f'{frame.filename}:{frame.lineno}'
    return '?'


class _MetaSyncs(TorchDispatchMode):
    """What would synchronise on a real device, seen on the meta device:
    value reads (which then raise, a meta tensor has no value) and blocking
    host-to-device copies."""

    def __init__(self, found: List[str]):
        super().__init__()
        self.found = found

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in VALUE_READS or _is_bool_index(func, args):
            self.found.append(f'{func} at {_caller()}')
        elif _is_blocking_upload(func, args, kwargs):
            self.found.append(f'blocking copy to the device at {_caller()}')
        return func(*args, **kwargs)


class HostSyncCounter:
    """``with HostSyncCounter(device) as syncs:`` lists in ``syncs.found``
    each point of the block where the host would wait for ``device``.

    On CUDA it is what ``torch.cuda.set_sync_debug_mode('warn')`` reports
    (``.item()``, ``nonzero``, a boolean index, a blocking copy). On the
    meta device, for checks without a GPU (a model moved there runs
    without values): the ops that read a value or have a value-dependent
    shape (which then raise: ``syncs.found`` names the first) and blocking
    host-to-device copies. Elsewhere (the CPU) nothing synchronises and
    nothing is counted.
    """

    def __init__(self, device) -> None:
        self.device = torch.device(device)
        self.found: List[str] = []

    def __enter__(self) -> 'HostSyncCounter':
        self.found = []
        if self.device.type == 'cuda':
            self._mode = torch.cuda.get_sync_debug_mode()
            torch.cuda.set_sync_debug_mode('warn')
            self._warnings = warnings.catch_warnings(record=True)
            self._seen = self._warnings.__enter__()
            warnings.simplefilter('always')  # inside this block only
        elif self.device.type == 'meta':
            self._dispatch = _MetaSyncs(self.found)
            self._dispatch.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == 'cuda':
            torch.cuda.set_sync_debug_mode(self._mode)
            self._warnings.__exit__(*exc)
            self.found += [
                f'{w.filename}:{w.lineno}: {w.message}' for w in self._seen
                if 'synchroniz' in str(w.message)
            ]
        elif self.device.type == 'meta':
            self._dispatch.__exit__(*exc)

    @property
    def count(self) -> int:
        return len(self.found)
