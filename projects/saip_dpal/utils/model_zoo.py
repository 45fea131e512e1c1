"""Make the repository's model zoo visible to mmpretrain's model APIs."""
import os.path as osp

#: the repository root (model-index.yml, configs/) of a source checkout
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
MODEL_INDEX = osp.join(ROOT, 'model-index.yml')


def register_model_zoo() -> bool:
    """Register ``model-index.yml`` with mmpretrain's ``ModelHub`` once, so
    ``mmpretrain.list_models('dpal*')`` / ``get_model('saip_vit-tiny')``
    see our models. Returns False where the file is absent (an install
    without the repository's configs)."""
    from mmpretrain.apis.model import ModelHub
    if not osp.isfile(MODEL_INDEX):
        return False
    if getattr(ModelHub, '_saip_dpal_registered', False):
        return True
    ModelHub.register_model_index(MODEL_INDEX, config_prefix=ROOT)
    ModelHub._saip_dpal_registered = True
    return True
