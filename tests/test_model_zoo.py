"""The model zoo: every metafile entry's config exists, its backbone builds
with the parameters and FLOPs the metafile states (as measured by
tools/analysis_tools/get_flops.py), and mmpretrain's model APIs see it."""
import importlib.util
import os.path as osp

import pytest
from modelindex.load_model_index import load

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
INDEX = load(osp.join(ROOT, 'model-index.yml'))
INDEX.build_models_with_collections()
MODELS = {m.name: m for m in INDEX.models}


def _complexity():
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'get_flops.py')
    spec = importlib.util.spec_from_file_location('get_flops', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.backbone_complexity


def test_every_pretraining_config_is_in_the_zoo():
    import glob
    aliases = {osp.basename(p)[:-3] for p in glob.glob(
        osp.join(ROOT, 'configs', '*.py')) if osp.getsize(p) < 200}
    assert aliases == set(MODELS)  # the short names are the model names


@pytest.mark.parametrize('name', sorted(MODELS))
def test_entry_config_builds_with_the_stated_size(name):
    entry = MODELS[name]
    config = osp.join(ROOT, entry.config)
    assert osp.isfile(config), config
    info = _complexity()(config)
    meta = entry.metadata
    assert abs(info['params'] - meta.parameters) <= 0.006e6, name
    assert abs(info['flops'] - meta.flops) <= 0.006e9, name
    assert entry.weights is None  # nothing trained yet


def test_mmpretrain_model_apis_see_the_zoo():
    import mmpretrain

    import projects.saip_dpal  # noqa: F401
    names = mmpretrain.list_models('dpal*') + mmpretrain.list_models('saip*')
    assert set(names) == set(MODELS)
    model = mmpretrain.get_model('saip_vit-tiny')
    assert type(model).__name__ == 'SAIP'
