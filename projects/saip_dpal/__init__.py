"""saip-dpal: SAIP and DPAL human-centric pretraining as MMPretrain plugins.

Importing this package registers its modules into mmpretrain's registries
(``custom_imports=dict(imports=['projects.saip_dpal'])`` in a config), makes
mmengine's own checkpoints loadable under ``torch.load(weights_only=True)``,
keeps the Runner from executing config text stored in a checkpoint,
formats a config's text once instead of at every read, makes
``init_cfg=dict(type='Pretrained')`` load every weight or stop, loads an
extracted backbone file into a whole model's ``backbone`` (``get_model``,
``FeatureExtractor``, ``load_from``), shows a
Runner's config on the console as one line, and makes the model zoo
(``model-index.yml``) visible to ``mmpretrain.get_model``.
"""
from .version import __version__
from .engine import (cache_config_pretty_text, filter_console_log,
                     guard_runner_checkpoint_meta,
                     load_backbone_files_into_models,
                     make_pretrained_init_strict,
                     register_checkpoint_safe_globals)
from .utils.model_zoo import register_model_zoo
# imported for registration
from . import datasets, engine, evaluation, models  # noqa: F401

register_checkpoint_safe_globals()
guard_runner_checkpoint_meta()
cache_config_pretty_text()
make_pretrained_init_strict()
load_backbone_files_into_models()
filter_console_log()
register_model_zoo()

__all__ = [
    '__version__', 'cache_config_pretty_text', 'filter_console_log',
    'guard_runner_checkpoint_meta', 'load_backbone_files_into_models',
    'make_pretrained_init_strict',
    'register_checkpoint_safe_globals', 'register_model_zoo'
]
