"""saip-dpal: SAIP and DPAL human-centric pretraining as MMPretrain plugins.

Importing this package registers its modules into mmpretrain's registries
(``custom_imports=dict(imports=['projects.saip_dpal'])`` in a config) and makes
mmengine's own checkpoints loadable under ``torch.load(weights_only=True)``.
"""
from .version import __version__
from .engine import register_checkpoint_safe_globals
# imported for registration
from . import datasets, engine, evaluation, models  # noqa: F401

register_checkpoint_safe_globals()

__all__ = ['__version__', 'register_checkpoint_safe_globals']
