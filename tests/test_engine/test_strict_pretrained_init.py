"""``init_cfg=dict(type='Pretrained')`` with the plugin imported loads
every weight of the backbone or stops with one line naming the file."""
import os.path as osp

import pytest
import torch
from conftest import CONFIG_DIR, ROOT, run_tool
from mmengine.config import Config

from mmpretrain.models import SwinTransformer, VisionTransformer
from projects.saip_dpal.utils.errors import InputDataError

SYNTHETIC_REID = 'reid/reid_dpal-vit-tiny_1xb16-2e_synthetic-market1501-' \
    '256x128.py'


def _vit(arch='deit-tiny', checkpoint='unset', **init):
    import projects.saip_dpal  # noqa: F401  (makes Pretrained strict)
    init_cfg = None if checkpoint == 'unset' else dict(
        type='Pretrained', checkpoint=checkpoint, **init)
    return VisionTransformer(arch=arch, img_size=(64, 32),
                             init_cfg=init_cfg)


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """An extracted-style backbone file, the same as a training checkpoint
    (keys under ``backbone.``), a ViT-S and a Swin-T file."""
    root = tmp_path_factory.mktemp('pretrained')
    source = _vit()
    with torch.no_grad():
        for p in source.parameters():
            p.add_(torch.randn_like(p))
    state = source.state_dict()
    paths = dict(
        backbone=root / 'backbone.pth', raw=root / 'epoch_1.pth',
        small=root / 'vit_small.pth', swin=root / 'swin.pth')
    torch.save(dict(state_dict=state, meta={}), paths['backbone'])
    torch.save(dict(state_dict={'backbone.' + k: v for k, v in state.items()},
                    meta=dict(epoch=1)), paths['raw'])
    torch.save(dict(state_dict=_vit('deit-small').state_dict()),
               paths['small'])
    torch.save(dict(state_dict=SwinTransformer(arch='tiny').state_dict()),
               paths['swin'])
    return paths, state


def _assert_loaded(model, state):
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_backbone_file_loads_every_weight(files):
    paths, state = files
    model = _vit(checkpoint=str(paths['backbone']))
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
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
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


class _Payload:
    """Would create ``flag`` if unpickled by a full (unsafe) load."""

    def __init__(self, flag):
        self.flag = flag

    def __reduce__(self):
        return (open, (self.flag, 'w'))


def test_pickled_code_is_refused_not_run(files, tmp_path):
    flag = tmp_path / 'ran'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict=files[1], x=_Payload(str(flag))), path)
    with pytest.raises(InputDataError, match='evil.pth cannot be read '
                       'weights-only'):
        _vit(checkpoint=str(path)).init_weights()
    assert not flag.exists()
