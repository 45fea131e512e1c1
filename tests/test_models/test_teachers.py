"""DPAL teachers: PATH ViTs and SOLIDER Swin as mmpretrain backbones, their
checkpoint conversion and strict weights-only loading.

The PATH-keyed and SOLIDER-keyed state dicts are written here from the
published key layouts (docs/methods.md section 4), and the converted PATH model
is checked against an independent forward of PATH's ViT written below.
"""
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from conftest import CONFIG_DIR, ROOT, CodeRunningPickle, load_cli
from mmengine.config import Config
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS

import projects.saip_dpal  # noqa: F401  (registers the backbones)
from projects.saip_dpal.models.backbones import SOLIDERSwinTransformer
from projects.saip_dpal.models.utils.checkpoint_loading import (
    check_teacher_state_dict, load_teacher_weights)
from projects.saip_dpal.utils import InputDataError

# the converters are tools (one script per published format)
CONVERTERS = osp.join(ROOT, 'tools', 'model_converters')
path2mmpretrain = load_cli(osp.join(CONVERTERS, 'path2mmpretrain.py'))
solider2mmpretrain = load_cli(osp.join(CONVERTERS, 'solider2mmpretrain.py'))
convert_path_state_dict = path2mmpretrain.convert_path_state_dict
detect_path_arch = path2mmpretrain.detect_path_arch
convert_solider_state_dict = solider2mmpretrain.convert_solider_state_dict

# a PATH-like ViT small enough for the CPU: width 64, 2 blocks, 4 heads
TINY_VIT = dict(
    embed_dims=64, num_layers=2, num_heads=4, feedforward_channels=256)
TINY_SWIN = dict(embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 2, 2, 4])


def teacher_cfg(name):
    """The ``teacher`` model dict of ``configs/_base_/models/<name>``."""
    return Config.fromfile(osp.join(CONFIG_DIR, '_base_', 'models',
                                    name)).teacher.to_dict()


# ------------------------------------------------------------ PATH helpers
def path_state_dict(width=64, depth=2, hidden=256, grid=14, final_norm=False,
                    rel_pos=False, seed=0, meta=False, dtype=torch.float32):
    """A PATH ViT backbone state dict in the released key layout."""
    gen = torch.Generator().manual_seed(seed)

    def t(*shape, std=0.1, mean=0.):
        if meta:
            return torch.empty(*shape, device='meta', dtype=dtype)
        return (mean + std * torch.randn(*shape, generator=gen)).to(dtype)

    sd = {
        'cls_token': t(1, 1, width, std=0.5),
        'cls_token_pos_embed': t(1, 1, width, std=0.5),
        'pos_embed': t(1, grid * grid, width, std=0.5),
        'patch_embed.proj.weight': t(width, 3, 16, 16, std=0.02),
        'patch_embed.proj.bias': t(width),
    }
    for i in range(depth):
        p = f'blocks.{i}.'
        sd.update({
            p + 'norm1.weight': t(width, mean=1.),
            p + 'norm1.bias': t(width),
            p + 'attn.qkv.weight': t(3 * width, width, std=0.2),
            p + 'attn.qkv.bias': t(3 * width),
            p + 'attn.proj.weight': t(width, width),
            p + 'attn.proj.bias': t(width),
            p + 'norm2.weight': t(width, mean=1.),
            p + 'norm2.bias': t(width),
            p + 'mlp.fc1.weight': t(hidden, width),
            p + 'mlp.fc1.bias': t(hidden),
            p + 'mlp.fc2.weight': t(width, hidden),
            p + 'mlp.fc2.bias': t(width),
        })
        if rel_pos:  # PATH's compat-mode leftovers, never used
            sd[p + 'attn.rel_pos_h'] = t(27, width // 4)
            sd[p + 'attn.rel_pos_w'] = t(27, width // 4)
    if final_norm:
        sd['norm.weight'] = t(width, mean=1.)
        sd['norm.bias'] = t(width)
    return sd


def path_reference_forward(sd, img, num_heads, eps=1e-6, final_norm=True):
    """PATH's ViT on PATH-keyed tensors (HumanBench
    ``vitdet_for_ladder_attention_share_pos_embed.ViT`` with
    ``use_cls_token``, ``learnable_simple_interpolate``), followed by the
    final LayerNorm DPAL's teacher applies (identity affine if the file has
    no ``norm.*``)."""
    width = sd['cls_token'].shape[-1]
    x = F.conv2d(img, sd['patch_embed.proj.weight'],
                 sd['patch_embed.proj.bias'], stride=16)
    B, _, Hp, Wp = x.shape
    x = x.flatten(2).transpose(1, 2)
    pos = sd['pos_embed']
    g = math.isqrt(pos.shape[1])
    if (Hp, Wp) != (g, g):  # PATH's get_abs_pos: bicubic, cls kept apart
        pos = F.interpolate(
            pos.reshape(1, g, g, width).permute(0, 3, 1, 2),
            size=(Hp, Wp), mode='bicubic', align_corners=False)
        pos = pos.permute(0, 2, 3, 1).reshape(1, Hp * Wp, width)
    x = torch.cat([sd['cls_token'].expand(B, -1, -1), x], dim=1)
    x = x + torch.cat([sd['cls_token_pos_embed'], pos], dim=1)
    N, hd = x.shape[1], width // num_heads
    i = 0
    while f'blocks.{i}.norm1.weight' in sd:
        p = f'blocks.{i}.'
        h = F.layer_norm(x, (width, ), sd[p + 'norm1.weight'],
                         sd[p + 'norm1.bias'], eps)
        qkv = F.linear(h, sd[p + 'attn.qkv.weight'], sd[p + 'attn.qkv.bias'])
        q, k, v = qkv.reshape(B, N, 3, num_heads, hd).permute(2, 0, 3, 1, 4)
        attn = ((q * hd**-0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
        h = (attn @ v).transpose(1, 2).reshape(B, N, width)
        x = x + F.linear(h, sd[p + 'attn.proj.weight'],
                         sd[p + 'attn.proj.bias'])
        h = F.layer_norm(x, (width, ), sd[p + 'norm2.weight'],
                         sd[p + 'norm2.bias'], eps)
        h = F.gelu(F.linear(h, sd[p + 'mlp.fc1.weight'],
                            sd[p + 'mlp.fc1.bias']))
        x = x + F.linear(h, sd[p + 'mlp.fc2.weight'], sd[p + 'mlp.fc2.bias'])
        i += 1
    if not final_norm:
        return x
    return F.layer_norm(x, (width, ), sd.get('norm.weight'),
                        sd.get('norm.bias'), eps)


def tiny_path_teacher(img_size):
    model = MODELS.build(
        dict(teacher_cfg('teacher_pathb.py'), img_size=img_size,
             arch=TINY_VIT))
    model.eval()  # mmpretrain backbones' train() returns None
    return model


def one_line_error(excinfo):
    msg = str(excinfo.value)
    assert '\n' not in msg, msg
    return msg


# ------------------------------------------------------------------ PATH
def test_path_converts_and_matches_reference_at_14x14():
    sd = path_state_dict()
    state, report = convert_path_state_dict(sd)
    assert report['unknown'] == []
    assert set(report['added']) == {'ln1.weight', 'ln1.bias'}
    assert state['pos_embed'].shape == (1, 197, 64)
    model = tiny_path_teacher(224)
    loaded = load_teacher_weights(model, state)
    assert loaded['missing'] == loaded['unexpected'] == loaded['resized'] == []
    assert loaded['loaded'] == len(model.state_dict())

    img = torch.randn(2, 3, 224, 224, generator=torch.Generator()
                      .manual_seed(1))
    with torch.no_grad():
        out = model(img)
        ref = path_reference_forward(sd, img, num_heads=4)
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (2, 1 + 196, 64)
    torch.testing.assert_close(out[0], ref, atol=1e-5, rtol=1e-5)
    # the untrained final LayerNorm is not a no-op
    with torch.no_grad():
        unnormed = path_reference_forward(sd, img, 4, final_norm=False)
    assert not torch.allclose(out[0], unnormed, atol=1e-2)


@pytest.mark.parametrize('final_norm', [False, True])
def test_path_pos_embed_resized_to_256x128_matches_reference(final_norm):
    sd = path_state_dict(final_norm=final_norm, seed=2)
    state, report = convert_path_state_dict(sd)
    assert ('ln1.weight' in report['added']) is not final_norm
    model = tiny_path_teacher((256, 128))
    loaded = load_teacher_weights(model, state)
    assert loaded['resized'] == ['pos_embed: (1, 197, 64) -> (1, 129, 64)']
    # the cls position stays apart; the 14x14 grid becomes 16x8 (bicubic)
    assert torch.equal(model.pos_embed[:, :1], sd['cls_token_pos_embed'])
    grid = F.interpolate(
        sd['pos_embed'].reshape(1, 14, 14, 64).permute(0, 3, 1, 2),
        size=(16, 8), mode='bicubic', align_corners=False)
    torch.testing.assert_close(
        model.pos_embed[:, 1:],
        grid.permute(0, 2, 3, 1).reshape(1, 128, 64))
    if final_norm:
        assert torch.equal(model.ln1.weight, sd['norm.weight'])

    img = torch.randn(2, 3, 256, 128, generator=torch.Generator()
                      .manual_seed(3))
    with torch.no_grad():
        out = model(img)[0]
        ref = path_reference_forward(sd, img, num_heads=4)
    assert out.shape == (2, 1 + 128, 64)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_path_published_layouts_convert_identically():
    bare = path_state_dict(rel_pos=True, seed=4)
    training = {
        'state_dict': {
            **{f'module.backbone_module.{k}': v
               for k, v in bare.items()},
            'module.neck_module.proj.weight': torch.zeros(3, 3),
            'module.decoder_module.head.bias': torch.zeros(3),
        },
        'step': 10,
    }
    converted = [
        convert_path_state_dict(obj)
        for obj in (bare, training, {'model': bare}, {'state_dict': bare})
    ]
    ref_state, ref_report = converted[0]
    assert all(k.startswith('blocks.') and 'rel_pos' in k
               for k in ref_report['dropped'])
    assert len(ref_report['dropped']) == 4
    for state, report in converted[1:]:
        assert list(state) == list(ref_state)
        assert all(torch.equal(state[k], ref_state[k]) for k in state)
        assert report['unknown'] == []
    dropped = converted[1][1]['dropped']
    assert 'module.neck_module.proj.weight' in dropped
    assert 'module.decoder_module.head.bias' in dropped
    # every key lands on the model
    found = check_teacher_state_dict(tiny_path_teacher(224), ref_state)
    assert found == dict(missing=[], unexpected=[], mismatched=[],
                         resized=[])


def test_path_unknown_key_is_kept_and_refused_on_load():
    sd = path_state_dict()
    sd['blocks.0.gamma_1'] = torch.ones(64)  # a layer scale PATH-B lacks
    state, report = convert_path_state_dict(sd)
    assert report['unknown'] == ['blocks.0.gamma_1']
    with pytest.raises(InputDataError) as exc:
        load_teacher_weights(tiny_path_teacher(224), state)
    assert '1 unexpected (blocks.0.gamma_1)' in one_line_error(exc)


def test_path_without_cls_position_is_refused():
    sd = path_state_dict()
    del sd['cls_token_pos_embed']
    with pytest.raises(InputDataError, match='cls position is unknown'):
        convert_path_state_dict(sd)


@pytest.mark.parametrize('arch,width', [('b', 768), ('l', 1024)])
def test_path_real_archs(arch, width):
    cfg = teacher_cfg(f'teacher_path{arch}.py')
    # the converter checks its keys against this very config file
    assert path2mmpretrain.teacher_config(arch) == cfg
    assert cfg['final_norm'] and cfg['out_type'] == 'raw'
    model = MODELS.build(cfg)
    model.eval()

    depth, hidden = {'b': (12, 3072), 'l': (24, 4096)}[arch]
    sd = path_state_dict(width, depth, hidden, meta=True)
    state, _ = convert_path_state_dict(sd)
    assert detect_path_arch(state) == arch
    found = check_teacher_state_dict(model, state)
    assert found['missing'] == found['unexpected'] == []
    assert found['mismatched'] == []
    assert found['resized'] == []  # PATH's 14x14 grid is kept
    with torch.no_grad():
        for size in ((256, 128), (256, 256)):
            out = model(torch.randn(1, 3, *size))
            tokens = size[0] * size[1] // 256
            assert len(out) == 1 and out[0].shape == (1, 1 + tokens, width)
            assert torch.isfinite(out[0]).all()


# ------------------------------------------------------- strict loading
def save(obj, path):
    torch.save(obj, path)
    return str(path)


def test_wrong_width_is_one_line_naming_file_and_keys(tmp_path):
    wide, _ = convert_path_state_dict(path_state_dict(width=96, hidden=384))
    path = save({'state_dict': wide}, tmp_path / 'wide.pth')
    with pytest.raises(InputDataError) as exc:
        load_teacher_weights(tiny_path_teacher((256, 128)), path)
    msg = one_line_error(exc)
    assert msg.startswith(
        'teacher checkpoint wide.pth does not fit VisionTransformer: '
        '0 missing, 0 unexpected, ')
    assert 'cls_token: checkpoint (1, 1, 96) vs model (1, 1, 64)' in msg
    assert 'pos_embed: checkpoint (1, 197, 96) vs model (1, 129, 64)' in msg


def test_vit_l_weights_for_vit_b_teacher_are_refused():
    state, _ = convert_path_state_dict(
        path_state_dict(1024, 24, 4096, meta=True))
    model = MODELS.build(teacher_cfg('teacher_pathb.py'))
    before = model.cls_token.detach().clone()
    with pytest.raises(InputDataError) as exc:
        load_teacher_weights(model, state)
    msg = one_line_error(exc)
    assert '0 missing' in msg and '144 unexpected (layers.12.' in msg
    assert 'cls_token: checkpoint (1, 1, 1024) vs model (1, 1, 768)' in msg
    assert torch.equal(model.cls_token, before)  # nothing was loaded


def test_missing_and_extra_keys_are_refused(tmp_path):
    state, _ = convert_path_state_dict(path_state_dict())
    missing = dict(state)
    del missing['layers.1.ln2.bias']
    extra = dict(state, **{'head.fc.weight': torch.zeros(2, 64)})
    for name, obj, expect in (
            ('missing.pth', missing, '1 missing (layers.1.ln2.bias), '
             '0 unexpected, 0 shape mismatch'),
            ('extra.pth', extra, '0 missing, 1 unexpected (head.fc.weight), '
             '0 shape mismatch')):
        with pytest.raises(InputDataError) as exc:
            load_teacher_weights(tiny_path_teacher(224),
                                 save(obj, tmp_path / name))
        msg = one_line_error(exc)
        assert msg.startswith(f'teacher checkpoint {name} does not fit')
        assert msg.endswith(expect), msg


def test_grid_difference_loads_from_file_but_not_a_non_square_source(
        tmp_path):
    state, _ = convert_path_state_dict(path_state_dict())
    path = save({'state_dict': state, 'meta': {'arch': 'tiny'}},
                tmp_path / 'ok.pth')
    model = tiny_path_teacher((256, 128))
    report = load_teacher_weights(model, path)
    assert report['source'] == 'ok.pth'
    assert report['resized'] == ['pos_embed: (1, 197, 64) -> (1, 129, 64)']
    expect = resize_pos_embed(state['pos_embed'], (14, 14), (16, 8))
    torch.testing.assert_close(model.pos_embed.detach(), expect)

    # a 16x8 grid cannot be told from a flat 128-token sequence: refused
    non_square = dict(state, pos_embed=model.pos_embed.detach().clone())
    with pytest.raises(InputDataError) as exc:
        load_teacher_weights(tiny_path_teacher(224), non_square)
    assert ('pos_embed: checkpoint (1, 129, 64) vs model (1, 197, 64)'
            in one_line_error(exc))


def test_loading_is_weights_only(tmp_path):
    state, _ = convert_path_state_dict(path_state_dict())
    flag = tmp_path / 'executed'
    path = save({'state_dict': state, 'x': CodeRunningPickle(str(flag))},
                tmp_path / 'evil.pth')
    with pytest.raises(InputDataError) as exc:
        load_teacher_weights(tiny_path_teacher(224), path)
    msg = one_line_error(exc)
    assert 'evil.pth' in msg and 'weights-only' in msg
    assert not flag.exists()
    with pytest.raises(InputDataError, match='not found'):
        load_teacher_weights(tiny_path_teacher(224), tmp_path / 'nope.pth')


def test_prefix_selects_a_subtree():
    state, _ = convert_path_state_dict(path_state_dict())
    ckpt = {'state_dict': {**{f'backbone.{k}': v for k, v in state.items()},
                           'neck.w': torch.zeros(1)}}
    report = load_teacher_weights(tiny_path_teacher(224), ckpt, 'backbone.')
    assert report['ignored'] == ['neck.w'] and report['missing'] == []
    with pytest.raises(InputDataError, match="no key starting with 'x.'"):
        load_teacher_weights(tiny_path_teacher(224), ckpt, 'x.')
    with pytest.raises(InputDataError, match='does not fit'):
        load_teacher_weights(tiny_path_teacher(224), ckpt)


# --------------------------------------------------------------- SOLIDER
def solider_index(window):
    """SOLIDER's WindowMSA.relative_position_index (double_step_seq)."""
    seq1 = torch.arange(0, (2 * window - 1) * window, 2 * window - 1)
    seq2 = torch.arange(0, window)
    coords = (seq1[:, None] + seq2[None, :]).reshape(1, -1)
    return (coords + coords.T).flip(1).contiguous()


def solider_state_dict(embed=16, depths=(2, 2, 2, 2), heads=(1, 2, 2, 4),
                       window=7, seed=0, meta=False, index=True):
    """A SOLIDER Swin backbone in its mmdet-style key layout (SOLIDER's
    ``swin_transformer.py``): output norms norm0..3 and the semantic
    controller Linear(2, width after the stage's downsample)."""
    gen = torch.Generator().manual_seed(seed)

    def t(*shape, std=0.1, mean=0.):
        if meta:
            return torch.empty(*shape, device='meta')
        return mean + std * torch.randn(*shape, generator=gen)

    widths = [embed * 2**i for i in range(4)]
    sd = {
        'patch_embed.projection.weight': t(embed, 3, 4, 4),
        'patch_embed.projection.bias': t(embed),
        'patch_embed.norm.weight': t(embed, mean=1.),
        'patch_embed.norm.bias': t(embed),
    }
    for i, (depth, head) in enumerate(zip(depths, heads)):
        c = widths[i]
        for j in range(depth):
            p = f'stages.{i}.blocks.{j}.'
            sd.update({
                p + 'norm1.weight': t(c, mean=1.),
                p + 'norm1.bias': t(c),
                p + 'attn.w_msa.relative_position_bias_table':
                t((2 * window - 1)**2, head, std=0.5),
                p + 'attn.w_msa.qkv.weight': t(3 * c, c, std=0.2),
                p + 'attn.w_msa.qkv.bias': t(3 * c),
                p + 'attn.w_msa.proj.weight': t(c, c),
                p + 'attn.w_msa.proj.bias': t(c),
                p + 'norm2.weight': t(c, mean=1.),
                p + 'norm2.bias': t(c),
                p + 'ffn.layers.0.0.weight': t(4 * c, c),
                p + 'ffn.layers.0.0.bias': t(4 * c),
                p + 'ffn.layers.1.weight': t(c, 4 * c),
                p + 'ffn.layers.1.bias': t(c),
            })
            if index:
                sd[p + 'attn.w_msa.relative_position_index'] = \
                    solider_index(window)
        if i < 3:
            sd[f'stages.{i}.downsample.norm.weight'] = t(4 * c, mean=1.)
            sd[f'stages.{i}.downsample.norm.bias'] = t(4 * c)
            sd[f'stages.{i}.downsample.reduction.weight'] = t(2 * c, 4 * c)
        sd[f'norm{i}.weight'] = t(c, mean=1.)
        sd[f'norm{i}.bias'] = t(c)
        out = widths[min(i + 1, 3)]
        for name in ('semantic_embed_w', 'semantic_embed_b'):
            sd[f'{name}.{i}.weight'] = t(out, 2, std=0.5)
            sd[f'{name}.{i}.bias'] = t(out, std=0.5)
    return sd


def tiny_solider(**kwargs):
    kwargs.setdefault('img_size', (64, 32))
    model = SOLIDERSwinTransformer(arch=TINY_SWIN, **kwargs)
    model.eval()
    return model


def test_solider_teacher_and_student_wrappings_convert_and_load():
    teacher, student = solider_state_dict(seed=0), solider_state_dict(seed=1)
    ckpt = {
        'teacher': {**{f'backbone.{k}': v for k, v in teacher.items()},
                    'head.mlp.0.weight': torch.zeros(4, 4)},
        'student': {**{f'module.backbone.{k}': v
                       for k, v in student.items()},
                    'module.head.last_layer.weight': torch.zeros(4, 4)},
        'epoch': 3,
    }
    for which, ref in (('teacher', teacher), ('student', student)):
        state, report = convert_solider_state_dict(ckpt, which=which)
        assert report['unknown'] == [] and report['added'] == {}
        assert {k for k in report['dropped'] if k.startswith('norm')} == {
            'norm0.weight', 'norm0.bias', 'norm1.weight', 'norm1.bias',
            'norm2.weight', 'norm2.bias'
        }
        assert any('head' in k for k in report['dropped'])
        model = tiny_solider()
        loaded = load_teacher_weights(model, state)
        assert loaded['missing'] == loaded['unexpected'] == []
        own = model.state_dict()
        assert all(torch.equal(own[k], ref[k].to(own[k].dtype))
                   for k in own), which
    # a bare backbone converts the same way
    state, _ = convert_solider_state_dict(teacher)
    assert set(state) == set(tiny_solider().state_dict())
    with pytest.raises(InputDataError, match="no 'student'"):
        convert_solider_state_dict({'teacher': ckpt['teacher']}, 'student')


def test_solider_index_buffers_are_regenerated():
    sd = solider_state_dict(index=False)
    state, report = convert_solider_state_dict(sd)
    assert len(report['added']) == 8
    model = tiny_solider()
    load_teacher_weights(model, state)
    index = model.stages[2].blocks[1].attn.w_msa.relative_position_index
    assert torch.equal(index, solider_index(7))
    assert torch.equal(
        state['stages.0.blocks.0.attn.w_msa.relative_position_index'],
        solider_index(7))


def _load_tiny(**kwargs):
    model = tiny_solider(**kwargs)
    state, _ = convert_solider_state_dict(
        solider_state_dict(seed=5), out_indices=model.out_indices)
    load_teacher_weights(model, state)
    return model


def test_solider_semantic_weight_changes_the_output():
    img = torch.randn(2, 3, 64, 32, generator=torch.Generator()
                      .manual_seed(0))
    model = _load_tiny()
    with torch.no_grad():
        out0 = model(img)[0]
        out1 = model(img, semantic_weight=1.0)[0]
        out03 = model(img, semantic_weight=0.3)[0]
        mixed = model(img, semantic_weight=torch.tensor([0.0, 1.0]))[0]
    assert out0.shape == (2, 128, 2, 1)
    assert not torch.allclose(out0, out1, atol=1e-3)
    assert not torch.allclose(out0, out03, atol=1e-3)
    torch.testing.assert_close(mixed[0], out0[0])
    torch.testing.assert_close(mixed[1], out1[1])
    # the constructor's value is the default
    model03 = _load_tiny(semantic_weight=0.3)
    with torch.no_grad():
        torch.testing.assert_close(model03(img)[0], out03)
    with pytest.raises(ValueError, match='semantic_weight'):
        tiny_solider(semantic_weight=1.5)


def test_solider_controller_sits_after_downsample_and_before_next_stage():
    img = torch.randn(1, 3, 64, 32, generator=torch.Generator()
                      .manual_seed(1))
    s = 0.7
    model = _load_tiny(out_indices=(0, 1), semantic_weight=s)
    with torch.no_grad():
        out0, out1 = model(img)
        # by hand: stage 0, its patch merging, the controller, stage 1
        x, hw = model.patch_embed(img)
        x, hw = model.stages[0](x, hw, do_downsample=False)
        ref0 = model.norm0(x).view(1, *hw, 16).permute(0, 3, 1, 2)
        x, hw = model.stages[0].downsample(x, hw)
        cond = torch.tensor([[s, 1 - s]])
        w, b = model.semantic_embed_w[0], model.semantic_embed_b[0]
        scale = torch.log1p(torch.exp(cond @ w.weight.T + w.bias))
        x = x * scale[:, None] + (cond @ b.weight.T + b.bias)[:, None]
        x, hw = model.stages[1](x, hw, do_downsample=False)
        ref1 = model.norm1(x).view(1, *hw, 32).permute(0, 3, 1, 2)
        # the output of a stage is taken before its controller
        out0_s0 = model(img, semantic_weight=0.)[0]
    torch.testing.assert_close(out0, ref0)
    torch.testing.assert_close(out1, ref1, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out0_s0, out0)


def test_solider_last_controller_reaches_no_output_and_pooled_cls():
    img = torch.randn(2, 3, 64, 32, generator=torch.Generator()
                      .manual_seed(2))
    model = _load_tiny(out_type='tokens_with_pooled_cls')
    featmap = _load_tiny()
    with torch.no_grad():
        tokens = model(img)[0]
        fmap = featmap(img)[0]
        model.semantic_embed_w[3].weight.add_(1.)
        model.semantic_embed_b[3].bias.add_(1.)
        again = model(img)[0]
    assert tokens.shape == (2, 1 + 2, 128)
    torch.testing.assert_close(tokens[:, 1:], fmap.flatten(2).transpose(1, 2))
    torch.testing.assert_close(tokens[:, 0], tokens[:, 1:].mean(dim=1))
    torch.testing.assert_close(again, tokens)


def test_solider_b_real_arch():
    cfg = teacher_cfg('teacher_soliderb.py')
    assert solider2mmpretrain.teacher_config() == cfg
    assert cfg['semantic_weight'] == 0.0
    model = MODELS.build(cfg)
    model.eval()
    assert isinstance(model, SOLIDERSwinTransformer)
    assert [m.out_features for m in model.semantic_embed_w] == [
        256, 512, 1024, 1024
    ]
    sd = solider_state_dict(128, (2, 2, 18, 2), (4, 8, 16, 32), meta=True)
    state, report = convert_solider_state_dict({'teacher': {
        f'backbone.{k}': v for k, v in sd.items()}})
    found = check_teacher_state_dict(model, state)
    assert found == dict(missing=[], unexpected=[], mismatched=[],
                         resized=[])
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 32))
    assert len(out) == 1 and out[0].shape == (1, 1 + 2 * 1, 1024)
    assert torch.isfinite(out[0]).all()
