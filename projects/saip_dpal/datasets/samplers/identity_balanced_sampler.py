"""Batches of P identities x K images (ReID)."""
import math
from typing import Iterator, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmpretrain.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class IdentityBalancedSampler(Sampler):
    """Every epoch, each identity contributes ``num_instances`` images
    (drawn with replacement when it has fewer) in consecutive runs, so a
    batch of size P * K holds P identities x K images. Identities are
    shuffled per epoch (``set_epoch``) and split across processes.

    Args:
        dataset: Samples with ``gt_label`` (identity) in their data info.
        num_instances (int): K. Defaults to 4.
        seed (int, optional): Shared seed; synced across processes.
    """

    def __init__(self, dataset, num_instances: int = 4,
                 seed: Optional[int] = None) -> None:
        self.rank, self.world_size = get_dist_info()
        self.num_instances = num_instances
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        by_id = {}
        for i in range(len(dataset)):
            by_id.setdefault(int(dataset.get_data_info(i)['gt_label']),
                             []).append(i)
        self.by_id = by_id
        self.ids = sorted(by_id)
        per_rank = math.ceil(len(self.ids) / self.world_size)
        self.num_samples = per_rank * num_instances

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng(self.seed + self.epoch)
        ids = list(rng.permutation(self.ids))
        per_rank = self.num_samples // self.num_instances
        ids += ids[:per_rank * self.world_size - len(ids)]  # pad evenly
        indices = []
        for pid in ids[self.rank::self.world_size]:
            pool = self.by_id[pid]
            replace = len(pool) < self.num_instances
            indices += list(rng.choice(pool, self.num_instances,
                                       replace=replace))
        return iter(int(i) for i in indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
