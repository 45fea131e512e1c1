"""Copies between host and device that the host does not wait for."""
from typing import Any, List, Optional, Tuple

import torch


class LaggedHostRead:
    """A queue of small tensors (flags, a label maximum) read on the host.

    ``push(t, tag)`` starts a non-blocking copy of ``t`` into pinned host
    memory. ``pop()`` returns the ``(host tensor, tag)`` pairs that are due:
    on CUDA all but the newest, whose copy may still be queued behind the
    step that made it (the older ones finished long ago, so the host does
    not wait), elsewhere all of them; ``pop(wait=True)`` returns all (before
    a checkpoint, at the end of training). A meta tensor has no value: it
    is not queued.

    Args:
        lag (bool, optional): Keep the newest push back on every device
            (the CUDA behaviour, for tests on the CPU). Defaults to lagging
            on CUDA only.
    """

    def __init__(self, lag: Optional[bool] = None) -> None:
        self.lag = lag
        self._queue: List[Tuple[torch.Tensor, Any, Any, bool]] = []

    def push(self, value: torch.Tensor, tag: Any = None) -> None:
        value = value.detach()
        if value.device.type == 'meta':
            return
        event = None
        if value.is_cuda:
            host = torch.empty(value.shape, dtype=value.dtype,
                               pin_memory=True)
            host.copy_(value, non_blocking=True)
            event = torch.cuda.Event()
            event.record()
        else:
            host = value.cpu()
        lag = value.is_cuda if self.lag is None else self.lag
        self._queue.append((host, event, tag, lag))

    def pop(self, wait: bool = False) -> List[Tuple[torch.Tensor, Any]]:
        keep = int(bool(self._queue) and self._queue[-1][3] and not wait)
        due = self._queue[:len(self._queue) - keep]
        self._queue = self._queue[len(due):]
        for _, event, _, _ in due:
            if event is not None:
                event.synchronize()
        return [(host, tag) for host, _, tag, _ in due]

    def clear(self) -> None:
        self._queue = []


def to_device_async(value: torch.Tensor,
                    device: torch.device) -> torch.Tensor:
    """``value`` (on the host) on ``device``: on CUDA through pinned memory
    and a non-blocking copy, so the host does not wait for the stream."""
    if torch.device(device).type == 'cuda' and not value.is_pinned():
        value = value.pin_memory()
    return value.to(device, non_blocking=True)
