"""Make the repository's model zoo visible to mmpretrain's model APIs."""
import os.path as osp

#: the repository root (model-index.yml, configs/) of a source checkout
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
#: where an installed wheel keeps them (setup.py copies them there)
MIM_ROOT = osp.join(ROOT, 'projects', '.mim')


def zoo_root() -> str:
    """The folder holding ``model-index.yml`` and ``configs/``: the source
    checkout's root, else the installed package's ``projects/.mim``."""
    if osp.isfile(osp.join(ROOT, 'model-index.yml')) and osp.isdir(
            osp.join(ROOT, 'configs')):
        return ROOT
    return MIM_ROOT


#: the model-index files this process has registered
_REGISTERED = set()


def register_model_zoo() -> bool:
    """Register ``model-index.yml`` with mmpretrain's ``ModelHub`` once, so
    ``mmpretrain.list_models('dpal*')`` / ``get_model('saip_vit-tiny')``
    see our models (mmpretrain's public ``register_model_index``: it adds
    our names and nothing else). Returns False where the file is absent (a package
    built without the repository's configs)."""
    from mmpretrain.apis.model import ModelHub
    root = zoo_root()
    index = osp.join(root, 'model-index.yml')
    if not osp.isfile(index):
        return False
    if index in _REGISTERED:
        return True
    ModelHub.register_model_index(index, config_prefix=root)
    _REGISTERED.add(index)
    return True
