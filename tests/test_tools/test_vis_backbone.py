"""tools/visualization/vis_backbone.py: the recorded attention is the one
the last block uses, the PCA colours follow the features, and the tool
writes one row of panels per image from a checkpoint of ours."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from conftest import ROOT, load_cli
from pretrain_helpers import SAIP_DEMO, build_model, tiny_cfg

from mmpretrain.models import VisionTransformer
from projects.saip_dpal.models.utils import export_backbone
from projects.saip_dpal.utils.image_folder import find_images
from projects.saip_dpal.visualization import LastBlockAttention, feature_pca

TOOL = osp.join(ROOT, 'tools/visualization/vis_backbone.py')


def test_recorded_attention_is_what_the_last_block_computes():
    torch.manual_seed(0)
    vit = VisionTransformer(arch='deit-tiny', img_size=(64, 32),
                            out_type='raw')
    vit.eval()
    attn = vit.layers[-1].attn
    seen = {}
    attn.register_forward_hook(
        lambda m, args, out: seen.update(x=args[0], out=out))
    with torch.no_grad(), LastBlockAttention(vit) as recorder:
        vit(torch.randn(2, 3, 64, 32))
    cls_to_patches = recorder.maps[0]  # (B, heads, N)
    assert cls_to_patches.shape == (2, 3, 8)
    # the cls row over all tokens, then the cls output through it
    x = seen['x']
    qkv = attn.qkv(x).reshape(2, 9, 3, 3, 64).permute(2, 0, 3, 1, 4)
    q, k, v = qkv
    row = (q[:, :, :1] @ k.transpose(-2, -1) / 8).softmax(-1)
    torch.testing.assert_close(row[:, :, 0, 1:], cls_to_patches)
    cls_out = attn.proj((row @ v).transpose(1, 2).reshape(2, 1, 192))
    torch.testing.assert_close(cls_out[:, 0], seen['out'][:, 0],
                               rtol=1e-5, atol=1e-5)


def test_pca_colours_follow_the_leading_directions_inside_images():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 12, 1, generator=g)
    b = torch.rand(2, 12, 1, generator=g)
    e = torch.eye(16)
    tokens = 10 * a * e[0] + 3 * b * e[1] + 0.01 * torch.randn(
        2, 12, 16, generator=g)
    rgb = feature_pca(tokens, (4, 3))
    assert rgb.shape == (2, 4, 3, 3)
    flat = rgb.reshape(-1, 3)
    assert torch.allclose(flat.min(0).values, torch.zeros(3))
    assert torch.allclose(flat.max(0).values, torch.ones(3))
    # red follows a, green follows b (up to the arbitrary sign), each
    # measured from its image's mean
    for channel, source in ((0, a), (1, b)):
        source = source - source.mean(1, keepdim=True)
        r = np.corrcoef(flat[:, channel], source.reshape(-1))[0, 1]
        assert abs(r) > 0.99, (channel, r)


def test_tool_writes_one_row_per_image(synthetic_root, tmp_path, capsys):
    cfg = tiny_cfg(SAIP_DEMO, synthetic_root)
    saip = build_model(cfg)
    raw = tmp_path / 'epoch_2.pth'  # as the Runner writes it, config too
    torch.save(dict(state_dict=saip.state_dict(),
                    meta=dict(epoch=2, cfg=cfg.pretty_text)), raw)
    for momentum in (False, True):  # a training checkpoint, either copy
        out = tmp_path / f'maps_{momentum}.png'
        images = find_images(str(synthetic_root / 'LUPerson'))[:3]
        load_cli(TOOL).main(
            [str(raw), *images, '--out', str(out), '--size', '64', '32',
             '--config', osp.join(ROOT, 'configs', SAIP_DEMO)] +
            (['--momentum'] if momentum else []))
        picture = cv2.imread(str(out))
        assert picture.shape == (3 * (64 + 2), 4 * (32 + 2), 3)
        assert picture[:64, 34:66].std() > 0  # the PCA panel is not flat
    assert capsys.readouterr().out.strip().endswith(
        '(columns: image, pca, attention, shape_mask)')

    extracted = tmp_path / 'backbone.pth'  # records its architecture
    export_backbone(str(raw), str(extracted))
    load_cli(TOOL).main([str(extracted), str(synthetic_root / 'LUPerson'),
                         '--out', str(tmp_path / 'dir.png'),
                         '--max-images', '2'])
    assert cv2.imread(str(tmp_path / 'dir.png')).shape == (
        2 * (256 + 2), 4 * (128 + 2), 3)

    (tmp_path / 'not_an_image.jpg').write_text('hello')
    with pytest.raises(SystemExit) as exit_info:
        load_cli(TOOL).main([str(extracted),
                             str(tmp_path / 'not_an_image.jpg'),
                             '--out', str(tmp_path / 'x.png')])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.strip() == (
        f'error: not a readable image: {tmp_path / "not_an_image.jpg"}')
