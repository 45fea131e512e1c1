"""Pretraining checkpoints hand their backbone to plain mmpretrain
backbones: extract_backbone.py (student or EMA, algorithm parts dropped),
the raw checkpoint through ``Pretrained(prefix='backbone.')``, the authors'
released layout, and publish_model.py."""
import hashlib
import importlib.util
import os.path as osp

import pytest
import torch
from pretrain_helpers import DPAL_DEMO, SAIP_DEMO, build_model, tiny_cfg

from mmpretrain.models import VisionTransformer

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _bare(state):
    """A backbone file's weights (all under ``backbone.``) with bare keys."""
    assert state and all(k.startswith('backbone.') for k in state)
    return {k[len('backbone.'):]: v for k, v in state.items()}


def _tool(name):
    path = osp.join(ROOT, 'tools', 'model_converters', f'{name}.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _plain(cfg):
    args = cfg.model.backbone.copy()
    args.pop('type')
    args.pop('inter_index', None)
    plain = VisionTransformer(**args)
    plain.eval()  # mmpretrain backbones' train() returns None
    return plain


def _perturbed(config, synthetic_root):
    """A model whose student and EMA copy differ (as after training)."""
    cfg = tiny_cfg(config, synthetic_root)
    model = build_model(cfg)
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return cfg, model


@pytest.mark.parametrize('config,ema_part', [
    (DPAL_DEMO, 'momentum_encoder.module.backbone'),
    (SAIP_DEMO, 'momentum_encoder.module.backbone'),
])
def test_extracted_backbone_loads_into_plain_vit(config, ema_part,
                                                 synthetic_root, tmp_path,
                                                 capsys):
    cfg, model = _perturbed(config, synthetic_root)
    raw = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    optimizer=dict(state={}, param_groups=[]),
                    meta=dict(epoch=1)), raw)
    x = torch.randn(2, 3, 256, 128)
    ema_module = model.get_submodule(ema_part)
    for ema, source in ((False, model.backbone), (True, ema_module)):
        out = tmp_path / f'backbone_{ema}.pth'
        _tool('extract_backbone')([str(raw), str(out)] +
                                  (['--momentum'] if ema else []))
        report = capsys.readouterr().out
        # algorithm parts gone
        assert 'kept' in report and ('neck' in report or
                                     'reconstruction_head' in report)
        state = _bare(torch.load(out)['state_dict'])
        plain = _plain(cfg)
        result = plain.load_state_dict(state, strict=False)
        assert not result.missing_keys and not result.unexpected_keys
        source.eval()
        with torch.no_grad():
            assert torch.equal(plain(x)[0], source(x)[0])
    if config == SAIP_DEMO:
        assert 'inter_norm' in report

    # the raw checkpoint also loads with Pretrained(prefix='backbone.')
    args = cfg.model.backbone.copy()
    args.pop('type')
    args.pop('inter_index', None)
    args['init_cfg'] = dict(type='Pretrained', checkpoint=str(raw),
                            prefix='backbone.')
    via_init = VisionTransformer(**args)
    via_init.init_weights()
    for k, v in model.backbone.state_dict().items():
        if not k.startswith('inter_norm'):
            assert torch.equal(via_init.state_dict()[k], v), k


def test_authors_layout_and_missing_parts(tmp_path, capsys):
    plain = VisionTransformer(arch='deit-tiny', img_size=(256, 128))
    weights = {f'module.backbone.{k}': v
               for k, v in plain.state_dict().items()}
    src = tmp_path / 'released.pth'
    torch.save(dict(student=weights, teacher=weights), src)
    out = tmp_path / 'out.pth'
    _tool('extract_backbone')([str(src), str(out)])
    state = _bare(torch.load(out)['state_dict'])
    assert set(state) == set(plain.state_dict())

    ours = tmp_path / 'no_ema.pth'
    torch.save(dict(state_dict={'backbone.cls_token': torch.zeros(1)}), ours)
    with pytest.raises(SystemExit) as exit_info:
        _tool('extract_backbone')([str(ours), str(out), '--ema'])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f'error: {ours} has no EMA backbone (no key starts with '
                   'momentum_encoder.module.backbone. or '
                   'ema_backbone.module. or teacher.module.backbone.)']


def test_publish_strips_training_state_and_names_the_hash(tmp_path, capsys):
    src = tmp_path / 'epoch_3.pth'
    torch.save(dict(state_dict={'w': torch.ones(2)}, meta=dict(epoch=3),
                    optimizer=dict(state={}), message_hub=dict(),
                    param_schedulers=[]), src)
    _tool('publish_model')([str(src), str(tmp_path / 'dpal_vit-tiny.pth')])
    final = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    data = open(final, 'rb').read()
    assert final.endswith(f'-{hashlib.sha256(data).hexdigest()[:8]}.pth')
    ckpt = torch.load(final)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


@pytest.mark.parametrize('backbone, expected', [
    (dict(type='SAIPVisionTransformer', arch='deit-tiny', img_size=(64, 32),
          inter_index=6, out_type='cls_token', drop_path_rate=0.1),
     dict(type='VisionTransformer', arch='deit-tiny', img_size=(64, 32))),
    (dict(type='MAEViT', arch='deit-tiny', img_size=(64, 32), mask_ratio=0.75,
          init_cfg=[dict(type='Xavier')]),
     dict(type='VisionTransformer', arch='deit-tiny', img_size=(64, 32))),
    (dict(type='mmpretrain.SwinTransformer', arch='tiny', out_indices=(3, )),
     dict(type='mmpretrain.SwinTransformer', arch='tiny')),
])
def test_recorded_architecture_is_a_plain_backbone(backbone, expected):
    """meta['backbone']: the student as a plain mmpretrain backbone, whose
    weights are exactly the student's."""
    from mmengine.config import Config

    from mmpretrain.registry import MODELS
    from projects.saip_dpal.models.utils import plain_backbone_cfg
    text = Config(dict(model=dict(backbone=backbone))).pretty_text
    plain = plain_backbone_cfg(dict(meta=dict(cfg=text)))
    assert plain == expected
    student = MODELS.build(dict(backbone, type=backbone['type'].split('.')[-1],
                                init_cfg=None)).state_dict()
    student = {k: v for k, v in student.items()
               if not k.startswith('inter_norm.')}
    model = MODELS.build(dict(plain, type=plain['type'].split('.')[-1]))
    missing, unexpected = model.load_state_dict(student, strict=False)
    assert not missing and not unexpected
    # no training config (the authors' files), or not a model config
    assert plain_backbone_cfg(dict(meta=dict())) is None
    assert plain_backbone_cfg(dict(meta=dict(cfg='x = 1'))) is None
    # text that is not plain values is refused, never run
    from projects.saip_dpal.utils import InputDataError
    with pytest.raises(InputDataError, match='not valid config text'):
        plain_backbone_cfg(dict(meta=dict(cfg='x = (')))


def test_img_size_writes_the_position_grid_of_the_target(
        synthetic_root, tmp_path, capsys):
    """--img-size 256 192: a bare ``load_state_dict`` into a plain
    mmpretrain ViT at 256x192 (whose own hook only resizes square grids)
    takes the file strictly, with the 16x8 grid resized to 16x12."""
    from mmpretrain.models.utils import resize_pos_embed
    cfg, model = _perturbed(DPAL_DEMO, synthetic_root)
    raw = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(epoch=1, cfg=cfg.pretty_text)), raw)
    out = tmp_path / 'backbone_256x192.pth'
    _tool('extract_backbone')([str(raw), str(out), '--img-size', '256',
                               '192'])
    assert 'position embedding for 256x192 inputs' in capsys.readouterr().out
    ckpt = torch.load(out)
    assert ckpt['meta']['backbone']['img_size'] == (256, 192)
    args = cfg.model.backbone.copy()
    args.pop('type')
    args.pop('inter_index', None)
    args['img_size'] = (256, 192)
    plain = VisionTransformer(**args)
    plain.load_state_dict(_bare(ckpt['state_dict']), strict=True)
    source = model.backbone.state_dict()['pos_embed']
    want = resize_pos_embed(source, (16, 8), (16, 12), 'bicubic', 1)
    assert torch.equal(plain.pos_embed.detach(), want)
    with pytest.raises(SystemExit):  # no recorded architecture: one line
        bare = tmp_path / 'bare.pth'
        torch.save(dict(state_dict=model.state_dict()), bare)
        _tool('extract_backbone')([str(bare), str(out), '--img-size', '256',
                                   '192'])
    assert capsys.readouterr().err.strip() == (
        f'error: {bare}: --img-size needs a ViT whose architecture the '
        'checkpoint records (its training config)')
