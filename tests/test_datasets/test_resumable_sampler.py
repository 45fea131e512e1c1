"""ResumableSampler: skipping part of an epoch, and seeds per sample that
do not depend on ranks, workers or resumes."""
import pickle

import numpy as np
import torch
from mmengine.dataset import DefaultSampler

from projects.saip_dpal.datasets.samplers import ResumableSampler
from projects.saip_dpal.datasets.samplers.seeded_index import (
    SeededIndex, seeded_random_state)


def _sampler(rank=0, world_size=1, epoch=0):
    sampler = ResumableSampler(list(range(10)), shuffle=True, seed=3)
    sampler.rank, sampler.world_size = rank, world_size
    sampler.num_samples = -(-10 // world_size)
    sampler.total_size = sampler.num_samples * world_size
    sampler.set_epoch(epoch)
    return sampler


def test_order_is_default_samplers_and_skip_continues_it():
    sampler = _sampler(epoch=1)
    plain = DefaultSampler(list(range(10)), shuffle=True, seed=3)
    plain.set_epoch(1)
    full = list(sampler)
    assert [int(i) for i in full] == list(plain)
    sampler.skip(4)
    assert len(sampler) == 6
    rest = list(sampler)
    assert rest == full[4:] and [i.seed for i in rest] == \
        [i.seed for i in full[4:]]
    assert len(list(sampler)) == 10  # the epoch after is complete


def test_seeds_follow_the_global_order_not_the_rank():
    one = list(_sampler(epoch=2))
    ranks = [list(_sampler(rank, 2, epoch=2)) for rank in (0, 1)]
    merged = [i for pair in zip(*ranks) for i in pair]
    assert [(int(i), i.seed) for i in merged] == [(int(i), i.seed)
                                                  for i in one]
    assert len({i.seed for i in one}) == 10  # distinct per sample
    other_epoch = {(int(i), i.seed) for i in _sampler(epoch=3)}
    assert not other_epoch & {(int(i), i.seed) for i in one}


def test_index_travels_to_workers_with_its_seed():
    index = pickle.loads(pickle.dumps(SeededIndex(7, 123)))
    assert isinstance(index, SeededIndex) and index == 7 and index.seed == 123
    assert [0, 1, 2, 3, 4, 5, 6, 7][index] == 7


def test_seeded_block_is_reproducible_and_leaves_caller_state():
    np.random.seed(0)
    torch.manual_seed(0)
    after_one = np.random.rand(), torch.rand(1).item()
    np.random.seed(0)
    torch.manual_seed(0)
    draws = []
    for _ in range(2):
        with seeded_random_state(5):
            draws.append((np.random.rand(), torch.rand(1).item()))
    assert draws[0] == draws[1]
    # the caller's sequence goes on as if the block never ran
    assert (np.random.rand(), torch.rand(1).item()) == after_one
