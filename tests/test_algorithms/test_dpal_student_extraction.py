"""A DPAL student's backbone (and its EMA copy) is a plain mmpretrain
backbone: its weights load with zero missing/unexpected keys into the same
arch built without the plugin, and give identical outputs."""
import pytest
import torch
from pretrain_helpers import tiny_cfg
from mmengine.registry import init_default_scope

from mmpretrain.models import SwinTransformer, VisionTransformer
from mmpretrain.registry import MODELS

PLAIN = dict(VisionTransformer=VisionTransformer,
             SwinTransformer=SwinTransformer)


@pytest.mark.parametrize('config', ['dpal_pathb_vit-tiny.py',
                                    'dpal_soliderb_swin-tiny.py'])
def test_student_loads_into_plain_backbone(config, synthetic_root):
    init_default_scope('mmpretrain')
    import projects.saip_dpal  # noqa: F401
    cfg = tiny_cfg(config, synthetic_root)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    # make the EMA copy differ from the student
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(0.01 * torch.randn_like(p))

    state = model.state_dict()
    backbone_cfg = cfg.model.backbone.copy()
    plain_cls = PLAIN[backbone_cfg.pop('type')]
    x = torch.randn(2, 3, 256, 128)
    for prefix, source in (('backbone.', model.backbone),
                           ('momentum_encoder.module.backbone.',
                            model.momentum_encoder.module.backbone)):
        weights = {k[len(prefix):]: v for k, v in state.items()
                   if k.startswith(prefix)}
        plain = plain_cls(**backbone_cfg)
        result = plain.load_state_dict(weights, strict=False)
        assert result.missing_keys == [] and result.unexpected_keys == []
        plain.eval()
        source.eval()
        with torch.no_grad():
            for a, b in zip(plain(x), source(x)):
                assert torch.equal(a, b)
    # the EMA copy is a different set of weights
    ema = dict(model.momentum_encoder.module.backbone.named_parameters())
    differs = [not torch.equal(p, ema[k])
               for k, p in model.backbone.named_parameters()]
    assert all(differs)
