"""``init_cfg=dict(type='StrictPretrained')`` loads every weight of the
backbone or stops with one line naming the file (and stock ``Pretrained``
stays stock: test_plugin_changes_nothing.py)."""
import os.path as osp

import pytest
import torch
from conftest import CONFIG_DIR, CodeRunningPickle, ROOT, run_tool
from mmengine.config import Config

from mmpretrain.models import SwinTransformer, VisionTransformer
from projects.saip_dpal.utils.errors import InputDataError

SYNTHETIC_REID = 'reid/reid_dpal-vit-tiny_1xb16-2e_synthetic-market1501-' \
    '256x128.py'


def _vit(arch='deit-tiny', checkpoint='unset', **init):
    import projects.saip_dpal  # noqa: F401  (registers StrictPretrained)
    init_cfg = None if checkpoint == 'unset' else dict(
        type='StrictPretrained', checkpoint=checkpoint, **init)
    return VisionTransformer(arch=arch, img_size=(64, 32),
                             init_cfg=init_cfg)


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """An extracted-style backbone file (keys under ``backbone.``), a bare
    state dict, the same as a training checkpoint (keys under ``backbone.``
    beside others), a ViT-S and a Swin-T file."""
    root = tmp_path_factory.mktemp('pretrained')
    source = _vit()
    with torch.no_grad():
        for p in source.parameters():
            p.add_(torch.randn_like(p))
    state = source.state_dict()
    paths = dict(
        backbone=root / 'backbone.pth', bare=root / 'bare.pth',
        raw=root / 'epoch_1.pth', small=root / 'vit_small.pth',
        swin=root / 'swin.pth')
    prefixed = {'backbone.' + k: v for k, v in state.items()}
    torch.save(dict(state_dict=prefixed, meta={}), paths['backbone'])
    torch.save(state, paths['bare'])
    torch.save(dict(state_dict=dict(prefixed, **{'head.w': torch.ones(1)}),
                    meta=dict(epoch=1)), paths['raw'])
    torch.save(dict(state_dict=_vit('deit-small').state_dict()),
               paths['small'])
    torch.save(dict(state_dict=SwinTransformer(arch='tiny').state_dict()),
               paths['swin'])
    return paths, state


def _assert_loaded(model, state):
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize('name', ['backbone', 'bare'])
def test_backbone_file_loads_every_weight(files, name):
    """Nothing redraws a loaded weight: the ViT's position embedding and
    its blocks' FFNs (initialised by their own init_weights) stay loaded."""
    paths, state = files
    model = _vit(checkpoint=str(paths[name]))
    model.init_weights()
    _assert_loaded(model, state)


def test_training_checkpoint_needs_the_prefix(files):
    paths, state = files
    with pytest.raises(InputDataError, match=r"training checkpoint \(keys "
                       r"under 'backbone.'\): set init_cfg prefix="):
        _vit(checkpoint=str(paths['raw'])).init_weights()
    model = _vit(checkpoint=str(paths['raw']), prefix='backbone.')
    model.init_weights()
    _assert_loaded(model, state)
    with pytest.raises(InputDataError, match="no key starts with 'neck.'"):
        _vit(checkpoint=str(paths['raw']), prefix='neck.').init_weights()


@pytest.mark.parametrize('name, message', [
    ('small', r'vit_small.pth does not fit this VisionTransformer: \d+ '
     r'weights have another shape \(cls_token: checkpoint \(1, 1, 384\)'),
    ('swin', r'swin.pth lacks 148 of the 150 weights of this '
     r'VisionTransformer \(cls_token, pos_embed'),
])
def test_another_architecture_is_refused(files, name, message):
    paths, _ = files
    with pytest.raises(InputDataError, match=message) as err:
        _vit(checkpoint=str(paths[name])).init_weights()
    assert '\n' not in str(err.value)


def test_no_checkpoint_is_random_init_with_drawn_positions():
    model = _vit(checkpoint=None)
    model.init_weights()
    assert 0.01 < model.pos_embed.std().item() < 0.03  # not left at zero


def test_one_override_fills_a_synthetic_config(files):
    """The README's ``--cfg-options model.backbone.init_cfg.checkpoint=``
    works on a synthetic config (its init_cfg is Pretrained, no file)."""
    import projects.saip_dpal  # noqa: F401
    from mmpretrain.registry import MODELS
    paths, _ = files
    cfg = Config.fromfile(osp.join(CONFIG_DIR, SYNTHETIC_REID))
    assert cfg.model.backbone.init_cfg == dict(type='StrictPretrained',
                                               checkpoint=None)
    cfg.merge_from_dict(
        {'model.backbone.init_cfg.checkpoint': str(paths['backbone'])})
    backbone_cfg = dict(cfg.model.backbone, img_size=(64, 32),
                        out_type='cls_token')
    model = MODELS.build(backbone_cfg)
    model.init_weights()
    _assert_loaded(model, files[1])


def test_train_tool_prints_the_one_line(files, synthetic_root, tmp_path,
                                        capsys):
    paths, _ = files
    data = [f'{part}_dataloader.dataset.data_root={synthetic_root}/'
            'Market-1501' for part in ('train', 'val', 'test')]
    code, err = run_tool('tools/train.py', [
        osp.join(ROOT, 'configs', SYNTHETIC_REID), '--work-dir', tmp_path,
        '--cfg-options', f'model.backbone.init_cfg.checkpoint={paths["raw"]}',
        *data
    ], capsys)
    assert code == 1
    assert len(err) == 1 and err[0].startswith(
        f'error: init_cfg checkpoint {paths["raw"]} is a training checkpoint')


def test_pickled_code_is_refused_not_run(files, tmp_path):
    flag = tmp_path / 'ran'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict=files[1], x=CodeRunningPickle(str(flag))), path)
    with pytest.raises(InputDataError, match='evil.pth cannot be read '
                       'weights-only'):
        _vit(checkpoint=str(path)).init_weights()
    assert not flag.exists()


#: the architecture extract_backbone.py records for a DPAL ViT-S student
#: (mmpretrain's deit-small: 6 heads)
RECORDED_VIT_S = dict(type='VisionTransformer', arch='deit-small',
                      img_size=(256, 128), patch_size=16)


@pytest.fixture(scope='module')
def vit_s_file(tmp_path_factory):
    """A backbone file as extract_backbone.py writes it, at 256x128."""
    import projects.saip_dpal  # noqa: F401
    source = VisionTransformer(**{k: v for k, v in RECORDED_VIT_S.items()
                                  if k != 'type'})
    with torch.no_grad():
        source.pos_embed.normal_()
    path = tmp_path_factory.mktemp('vit_s') / 'backbone.pth'
    torch.save(dict(state_dict=source.state_dict(),
                    meta=dict(backbone=RECORDED_VIT_S)), path)
    return path, source.state_dict()


def _stock_vitpose_backbone(checkpoint, **overrides):
    """The backbone of mmpose's own ViTPose-S config (256x192, no cls
    token, padded patches), with our file as its init_cfg."""
    import mmpose
    from mmpretrain.registry import MODELS
    path = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs',
                    'body_2d_keypoint', 'topdown_heatmap', 'coco',
                    'td-hm_ViTPose-small_8xb64-210e_coco-256x192.py')
    backbone = Config.fromfile(path).model.backbone
    backbone.init_cfg = dict(type='StrictPretrained',
                             checkpoint=str(checkpoint))
    backbone.update(overrides)
    return MODELS.build(dict(backbone, type='VisionTransformer'))


def test_stock_vitpose_config_loads_our_256x128_file(vit_s_file):
    """mmpretrain's own hook asserts on the 16x8 grid (129 positions);
    the recorded grid resizes it to ViTPose's 16x12, with zero missing
    keys once the head count is ours."""
    from mmpretrain.models.utils import resize_pos_embed
    path, state = vit_s_file
    model = _stock_vitpose_backbone(path, arch=dict(
        embed_dims=384, num_layers=12, num_heads=6,
        feedforward_channels=1536))
    model.init_weights()
    want = resize_pos_embed(state['pos_embed'][:, 1:], (16, 8), (16, 12),
                            'bicubic', 0)
    torch.testing.assert_close(model.pos_embed, want, rtol=0, atol=0)
    for key, value in model.state_dict().items():
        if key != 'pos_embed':
            assert torch.equal(value, state[key]), key


def test_other_head_count_is_an_error_naming_both(vit_s_file):
    """ViTPose-S has 12 heads, our ViT-S 6: same weight shapes."""
    from mmengine.registry import DefaultScope
    path, _ = vit_s_file
    model = _stock_vitpose_backbone(path)
    with pytest.raises(InputDataError) as err, \
            DefaultScope.overwrite_default_scope('mmpose'):  # as mmpose runs
        model.init_weights()
    assert str(err.value) == (
        f'init_cfg checkpoint {path} is a VisionTransformer with 12 '
        'attentions: 6 heads x12; this VisionTransformer has 12 attentions: '
        '12 heads x12 (same weight shapes, another model): build it as '
        'recorded, --cfg-options model.backbone.arch=deit-small')


def test_head_count_message_gives_the_options_of_a_recorded_dict(tmp_path):
    """A DPAL-style recorded arch dict: the options replace the config's
    arch and build the file's model."""
    from mmengine.config import Config as C
    arch = dict(embed_dims=192, num_layers=2, num_heads=3,
                feedforward_channels=768)
    source = VisionTransformer(arch=arch, img_size=(64, 32))
    path = tmp_path / 'b.pth'
    torch.save(dict(state_dict=source.state_dict(), meta=dict(
        backbone=dict(type='VisionTransformer', arch=arch,
                      img_size=(64, 32)))), path)
    other = dict(arch, num_heads=6)
    with pytest.raises(InputDataError) as err:
        VisionTransformer(arch=other, img_size=(64, 32), init_cfg=dict(
            type='StrictPretrained', checkpoint=str(path))).init_weights()
    options = str(err.value).split('--cfg-options ')[1].split()
    cfg = C(dict(model=dict(backbone=dict(arch=other))))
    cfg.merge_from_dict(dict(o.split('=') for o in options))
    assert {k: int(v) for k, v in cfg.model.backbone.arch.items()} == arch


def test_missing_file_names_the_option(tmp_path):
    with pytest.raises(InputDataError) as err:
        _vit(checkpoint=str(tmp_path / 'nope.pth')).init_weights()
    assert str(err.value) == (
        f'init_cfg checkpoint {tmp_path / "nope.pth"} not found: point the '
        'VisionTransformer at a backbone file (tools/model_converters/'
        'extract_backbone.py), e.g. --cfg-options '
        'model.backbone.init_cfg.checkpoint=FILE')


def test_unrecorded_non_square_grid_is_named(files, tmp_path):
    state = dict(files[1])
    state['pos_embed'] = torch.zeros(1, 1 + 16 * 8, 192)  # 256x128 grid
    path = tmp_path / 'no_meta.pth'
    torch.save(dict(state_dict=state), path)
    with pytest.raises(InputDataError, match='pos_embed has 128 positions '
                       'on a grid the file does not record'):
        _vit(checkpoint=str(path)).init_weights()
