from .lup_person_dataset import LUPersonDataset
from .lup_person_lmdb import (LUPersonLMDBDataset, read_key_file,
                              write_key_file)
from .market1501_dataset import Market1501Dataset
from .msmt17_dataset import MSMT17Dataset
from .pa100k_dataset import PA100KDataset
from .samplers import IdentityBalancedSampler
from .transforms import *  # noqa: F401,F403

__all__ = [
    'IdentityBalancedSampler', 'LUPersonDataset',
    'LUPersonLMDBDataset', 'read_key_file', 'write_key_file',
    'MSMT17Dataset', 'Market1501Dataset', 'PA100KDataset'
]
