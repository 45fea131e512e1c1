"""Sample indices that carry the seed of their own augmentation."""
import contextlib
import random

import numpy as np
import torch


class SeededIndex(int):
    """An ``int`` dataset index with a ``seed`` for that sample's random
    draws; a dataset that does not look for the seed just sees the index."""

    def __new__(cls, index: int, seed: int) -> 'SeededIndex':
        obj = super().__new__(cls, index)
        obj.seed = int(seed)
        return obj

    def __reduce__(self):  # travels to the data workers as (index, seed)
        return SeededIndex, (int(self), self.seed)


def sample_seed(seed: int, epoch: int, position: int) -> int:
    """A 32-bit seed for the sample at ``position`` of the (all ranks)
    shuffled order of ``epoch``; unrelated seeds for neighbouring inputs."""
    return int(np.random.SeedSequence(
        [seed % 2**32, epoch, position]).generate_state(1)[0])


@contextlib.contextmanager
def seeded_random_state(seed: int):
    """Draw from Python's, numpy's and torch's CPU generators seeded with
    ``seed`` inside the block; put the caller's states back after it (the
    main process, with ``num_workers=0``, keeps its own sequence)."""
    saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed)
    torch.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.set_rng_state(saved[2])


class SeededItems:
    """Dataset mixin: an index with a seed (a :class:`SeededIndex` from
    :class:`ResumableSampler`) augments its sample from that seed; a plain
    index as the dataset always did. Put it before the dataset class."""

    def __getitem__(self, idx):
        seed = getattr(idx, 'seed', None)
        if seed is None:
            return super().__getitem__(idx)
        with seeded_random_state(seed):
            return super().__getitem__(int(idx))
