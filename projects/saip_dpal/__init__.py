"""saip-dpal: SAIP and DPAL human-centric pretraining as MMPretrain plugins.

Importing this package (``custom_imports=dict(imports=['projects.saip_dpal'])``
in a config) registers its modules into the OpenMMLab registries and changes
nothing else: no other library's function, method or class is replaced and
no warning filter is set. What our configs need comes through what they
select: ``runner_type='GuardedRunner'`` (weights-only checkpoint reading,
a quiet console), ``init_cfg=dict(type='StrictPretrained', ...)``, hooks,
datasets and models. The one step beyond registries is the model zoo:
``model-index.yml`` is added to mmpretrain's ``ModelHub``, so that
``mmpretrain.get_model('saip_vit-tiny')`` finds our models
(:func:`register_model_zoo`).
"""
from .version import __version__
from .utils.model_zoo import register_model_zoo
# imported for registration
from . import datasets, engine, evaluation, models  # noqa: F401

register_model_zoo()

__all__ = ['__version__', 'register_model_zoo']
