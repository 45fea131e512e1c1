from .lup_person_dataset import LUPersonDataset
from .market1501_dataset import Market1501Dataset
from .pa100k_dataset import PA100KDataset
from .samplers import IdentityBalancedSampler
from .transforms import *  # noqa: F401,F403

__all__ = [
    'IdentityBalancedSampler', 'LUPersonDataset', 'Market1501Dataset',
    'PA100KDataset'
]
