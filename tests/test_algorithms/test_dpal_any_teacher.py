"""DPAL distils any mmpretrain ViT / Swin checkpoint, not only PATH and
SOLIDER: a backbone SAIP pretrained (extracted with export_backbone), or a
model checkpoint's ``backbone.`` part (``teacher_prefix``)."""
import pytest
import torch
from pretrain_helpers import (DPAL_DEMO, SAIP_DEMO, build_model, tiny_cfg,
                              with_small_teacher)

from projects.saip_dpal.models.utils import export_backbone
from projects.saip_dpal.utils import InputDataError

#: a plain mmpretrain ViT-Ti as a DPAL teacher (the SAIP demo's student)
VIT_TINY_TEACHER = dict(type='VisionTransformer', arch='deit-tiny',
                        img_size=(256, 128), patch_size=16, out_type='raw')


def _dpal(synthetic_root, **model):
    cfg = with_small_teacher(tiny_cfg(DPAL_DEMO, synthetic_root))
    cfg.model.update(teacher=VIT_TINY_TEACHER, **model)
    return build_model(cfg)


def test_a_saip_pretrained_backbone_is_the_teacher(synthetic_root,
                                                   tmp_path):
    saip = build_model(tiny_cfg(SAIP_DEMO, synthetic_root))
    with torch.no_grad():  # as if trained: not the random init
        for p in saip.backbone.parameters():
            p.add_(0.05 * torch.randn_like(p))
    raw = tmp_path / 'saip_epoch_2.pth'
    torch.save(dict(state_dict=saip.state_dict(), meta=dict(epoch=2)), raw)
    extracted = tmp_path / 'saip_backbone.pth'
    export_backbone(str(raw), str(extracted))

    dpal = _dpal(synthetic_root, teacher_checkpoint=str(extracted),
                 teacher_dtype=None)  # the fp32 teacher, to compare exactly
    for k, v in dpal.teacher.state_dict().items():
        assert torch.equal(v, saip.backbone.state_dict()[k]), k
    x = torch.randn(2, 3, 64, 32)
    saip.backbone.out_type = 'raw'
    saip.backbone.eval()
    with torch.no_grad():
        want = saip.backbone(x)[0]
    tokens, grid = dpal.teacher_tokens(x)
    assert grid == (4, 2)
    torch.testing.assert_close(tokens, want, rtol=0, atol=0)


def test_teacher_prefix_takes_a_model_checkpoints_backbone(
        synthetic_root, tmp_path):
    source = _dpal(synthetic_root).teacher  # random weights of that arch
    state = {f'backbone.{k}': v + 1 for k, v in source.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(10, 192)  # a classifier's head
    path = tmp_path / 'classifier.pth'
    torch.save(dict(state_dict=state, meta={}), path)

    dpal = _dpal(synthetic_root, teacher_checkpoint=str(path),
                 teacher_prefix='backbone.')
    for k, v in dpal.teacher.state_dict().items():
        assert torch.equal(v, state[f'backbone.{k}']), k
    # without the prefix the keys do not fit: one line naming the file
    with pytest.raises(InputDataError, match=r'classifier\.pth does not fit'
                       r' VisionTransformer: \d+ missing'):
        _dpal(synthetic_root, teacher_checkpoint=str(path))
