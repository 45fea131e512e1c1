from .lup_person_dataset import LUPersonDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['LUPersonDataset']
