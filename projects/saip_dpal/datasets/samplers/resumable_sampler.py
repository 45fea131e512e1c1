"""A DefaultSampler that can start an epoch part way through."""
from typing import Iterator

from mmengine.dataset import DefaultSampler
from mmengine.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class ResumableSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` (same order for the same seed and
    epoch) whose next epoch can skip the samples a resumed run has already
    trained on.

    :class:`ResumeStateHook` calls :meth:`skip` when a run resumes from a
    checkpoint saved inside an epoch, so the rest of that epoch is exactly
    what the uninterrupted run saw, and the epoch ends at the right
    iteration. Later epochs are complete again. Registered in mmengine's
    root registry (usable from any toolbox's scope).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._skip = 0

    def skip(self, num_samples: int) -> None:
        """Leave out the first ``num_samples`` of this rank's next epoch."""
        if num_samples < 0:
            raise ValueError(f'cannot skip {num_samples} samples')
        self._skip = int(num_samples)

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())[self._skip:]
        self._skip = 0
        return iter(indices)

    def __len__(self) -> int:
        return max(self.num_samples - self._skip, 0)
