"""Stock OpenMMLab behaviour, run in a fresh process with or without
``import projects.saip_dpal`` (test_plugin_changes_nothing.py compares the
two): ``python plugin_behaviour.py with|without URL_DIR URL`` prints one
JSON object, case -> what happened, plus what the import changed in the
libraries' modules, classes, registries, warning filters and weights-only
allow-list."""
import json
import os.path as osp
import sys
import warnings

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

#: the warnings the plugin used to filter process-wide (message, module)
FORMERLY_FILTERED = (
    ("Only use 'alpha' for pillow backend", 'mmcv.image.photometric'),
    ('The draw is False, it means that the hook for visualization',
     'mmseg.engine.hooks.visualization_hook'),
    ('``build_loss`` would be deprecated soon', 'mmseg.models.builder'),
    ('pkg_resources is deprecated as an API', 'mmengine.utils.package_utils'),
)


def _vit(init_cfg=None):
    from mmpretrain.models import VisionTransformer
    return VisionTransformer(arch='deit-tiny', img_size=(32, 32),
                             patch_size=16, init_cfg=init_cfg)


def _outcome(fn):
    try:
        return fn()
    except Exception as err:  # noqa: BLE001  (the type is the result)
        return f'{type(err).__name__}'


def _same(model, state, skip=()):
    own = model.state_dict()
    return all(torch.equal(own[k], v) for k, v in state.items()
               if k not in skip)


def case_url_pretrained(url):
    """A stock config's Pretrained init from a download URL."""
    def run():
        torch.manual_seed(1)
        state = _vit().state_dict()
        model = _vit(dict(type='Pretrained', checkpoint=url))
        model.init_weights()
        return 'loaded' if _same(model, state) else 'other weights'
    return _outcome(run)


def case_partial_file(folder):
    """Pretrained from a file that lacks a layer, at strict=False."""
    def run():
        torch.manual_seed(2)
        state = _vit().state_dict()
        drop = [k for k in state if k.startswith('layers.11.')]
        path = osp.join(folder, 'partial.pth')
        torch.save({k: v for k, v in state.items() if k not in drop}, path)
        model = _vit(dict(type='Pretrained', checkpoint=path))
        model.init_weights()
        return 'loaded the rest' if _same(model, state, drop) else 'other'
    return _outcome(run)


def case_strict_backbone_only():
    """load_state_dict(whole model, backbone-only state, strict=True)."""
    from mmengine.runner.checkpoint import load_state_dict

    def run():
        model = nn.Module()
        model.backbone, model.head = nn.Linear(2, 2), nn.Linear(2, 1)
        load_state_dict(model, nn.Linear(2, 2).state_dict(), strict=True)
        return 'loaded'
    return _outcome(run)


def case_warnings_as_errors():
    """``-W error`` for each formerly filtered warning (set before the
    import, as a command-line -W is)."""
    out = {}
    for message, module in FORMERLY_FILTERED:
        try:
            warnings.warn_explicit(message, UserWarning, 'x.py', 1,
                                   module=module)
            out[module] = 'silenced'
        except UserWarning:
            out[module] = 'raised'
    return out


def _libraries():
    """What the import must leave as it found: the objects of these
    modules and classes (by identity), the registries, the warning filters
    and the weights-only allow-list."""
    import mmengine.config.config as config_module
    import mmengine.logging.history_buffer as history_buffer
    import mmengine.model.base_module as base_module
    import mmengine.model.weight_init as weight_init
    import mmengine.registry as mmengine_registry
    import mmengine.runner.checkpoint as checkpoint
    import mmengine.runner.runner as runner_module
    from mmengine.registry import Registry
    from mmengine.runner import FlexibleRunner, Runner

    import mmpretrain.apis.model as mmpretrain_api
    import mmpretrain.registry as mmpretrain_registry
    from mmpretrain.models import SwinTransformer, VisionTransformer
    owners = dict(
        Runner=Runner, FlexibleRunner=FlexibleRunner,
        Config=config_module.Config,
        HistoryBuffer=history_buffer.HistoryBuffer,
        PretrainedInit=weight_init.PretrainedInit,
        BaseModule=base_module.BaseModule,
        ModelHub=mmpretrain_api.ModelHub,
        VisionTransformer=VisionTransformer, SwinTransformer=SwinTransformer,
        checkpoint=checkpoint, weight_init=weight_init,
        runner=runner_module, serialization=torch.serialization,
        load=torch.load)
    found = {}
    for name, owner in owners.items():
        items = vars(owner).items() if hasattr(owner, '__dict__') else ()
        for key, value in items:
            found[f'{name}.{key}'] = id(value)
    for module in (mmengine_registry, mmpretrain_registry):
        for reg_name, reg in vars(module).items():
            if isinstance(reg, Registry):
                for key, obj in reg.module_dict.items():
                    found[f'{module.__name__}.{reg_name}[{key}]'] = id(obj)
    found['HistoryBuffer._statistics_methods'] = repr(sorted(
        history_buffer.HistoryBuffer._statistics_methods))
    found['warnings.filters'] = repr(warnings.filters)
    found['safe_globals'] = repr(torch.serialization.get_safe_globals())
    return found


def changed(before, after):
    """Keys whose value changed or vanished (added keys are registrations:
    new names in registries, our own)."""
    return sorted(k for k in before if after.get(k) != before[k])


def main():
    mode, folder, url = sys.argv[1:4]
    for message, module in FORMERLY_FILTERED:  # as `python -W error` would
        warnings.filterwarnings('error', message=message, module=module)
    import mmengine.runner  # noqa: F401
    import mmpretrain.models  # noqa: F401
    before = _libraries()
    if mode == 'with':
        import projects.saip_dpal  # noqa: F401
    result = dict(
        changed=changed(before, _libraries()),
        url_pretrained=case_url_pretrained(url),
        partial_file=case_partial_file(folder),
        strict_backbone_only=case_strict_backbone_only(),
        warnings_as_errors=case_warnings_as_errors())
    print(json.dumps(result, sort_keys=True))


if __name__ == '__main__':
    main()
