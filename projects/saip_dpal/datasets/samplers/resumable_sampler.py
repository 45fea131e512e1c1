"""A DefaultSampler that can start an epoch part way through."""
from typing import Iterator

from mmengine.dataset import DefaultSampler
from mmengine.registry import DATA_SAMPLERS

from .seeded_index import SeededIndex, sample_seed


@DATA_SAMPLERS.register_module()
class ResumableSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` (same order for the same seed and
    epoch) whose next epoch can skip the samples a resumed run has already
    trained on, and whose indices carry their sample's augmentation seed.

    - :class:`ResumeStateHook` calls :meth:`skip` when a run resumes from a
      checkpoint saved inside an epoch, so the rest of that epoch is exactly
      what the uninterrupted run saw, and the epoch ends at the right
      iteration. Later epochs are complete again.
    - Each index is a :class:`SeededIndex` whose seed depends only on the
      seed, the epoch and the sample's place in the epoch's order (over all
      ranks). A dataset that reads it (``LUPersonDataset``) augments every
      sample from its own seed, so the augmentations do not depend on which
      worker draws them, on ``num_workers``, on persistent workers living
      through epochs, or on a resume.

    Registered in mmengine's root registry (usable from any toolbox's
    scope).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._skip = 0

    def skip(self, num_samples: int) -> None:
        """Leave out the first ``num_samples`` of this rank's next epoch."""
        if num_samples < 0:
            raise ValueError(f'cannot skip {num_samples} samples')
        self._skip = int(num_samples)

    def __iter__(self) -> Iterator[SeededIndex]:
        indices = list(super().__iter__())
        skip, self._skip = self._skip, 0
        seed, epoch = self.seed, self.epoch
        rank, world_size = self.rank, self.world_size
        # seeds are drawn as the loader asks (not ~1 s for 1M at once)
        return (SeededIndex(indices[k],
                            sample_seed(seed, epoch, rank + k * world_size))
                for k in range(skip, len(indices)))

    def __len__(self) -> int:
        return max(self.num_samples - self._skip, 0)
