"""Tests of the SAIP ViT: mmpretrain compatibility and ``forward_tokens``."""
import pytest
import torch

import projects.saip_dpal  # noqa: F401  (registers the modules)
from mmpretrain.models import VisionTransformer
from mmpretrain.registry import MODELS
from projects.saip_dpal.models.backbones import SAIPVisionTransformer

VIT_TI = dict(
    embed_dims=192, num_layers=12, num_heads=3, feedforward_channels=768)
TINY = dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)

#: forward_tokens embeds patches by a matmul, mmpretrain's forward by the
#: convolution: the same up to float rounding (measured up to 5.3e-6)
PATCH_MATMUL_ATOL = 2e-5


def randomise(model, seed=0):
    """Random values in every parameter (LayerNorms and biases included), so
    that equalities below are not satisfied by the default init."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_scale = name.endswith('weight') and ('ln' in name
                                                    or 'norm' in name)
            p.copy_(torch.randn(p.shape, generator=g) * 0.1 + float(is_scale))
    model.eval()  # BaseBackbone.train does not return the module
    return model


def tiny_vit(inter_index=1, seed=0, **kwargs):
    kwargs.setdefault('img_size', (64, 32))
    kwargs.setdefault('patch_size', 8)
    return randomise(
        SAIPVisionTransformer(arch=TINY, inter_index=inter_index, **kwargs),
        seed)


def test_build_and_inter_norm():
    model = MODELS.build(
        dict(
            type='SAIPVisionTransformer',
            arch=VIT_TI,
            img_size=(256, 128),
            out_type='raw'))
    assert model.inter_index == 6
    assert isinstance(model.inter_norm, torch.nn.LayerNorm)
    assert model.inter_norm.eps == model.ln1.eps == 1e-6
    assert SAIPVisionTransformer(arch=TINY, inter_index=-1).inter_index == 3
    with pytest.raises(ValueError):
        SAIPVisionTransformer(arch=TINY, inter_index=4)


def test_state_dict_loads_into_plain_vit_with_identical_outputs():
    torch.manual_seed(0)
    kw = dict(arch=VIT_TI, img_size=(256, 128), patch_size=16, out_type='raw')
    saip = randomise(SAIPVisionTransformer(**kw))
    state = {
        k: v
        for k, v in saip.state_dict().items()
        if not k.startswith('inter_norm.')
    }
    assert len(state) == len(saip.state_dict()) - 2
    plain = VisionTransformer(**kw)
    plain.eval()
    result = plain.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for shape in ((256, 128), (320, 160)):
        x = torch.randn(2, 3, *shape)
        with torch.no_grad():
            ref = plain(x)[0]
            assert torch.equal(saip(x)[0], ref)
            tokens = saip.forward_tokens(x)
        h, w = shape[0] // 16, shape[1] // 16
        assert tokens['grid'] == (h, w)
        assert ref.shape == (2, 1 + h * w, 192)
        torch.testing.assert_close(tokens['tokens'], ref, rtol=0,
                                   atol=PATCH_MATMUL_ATOL)

    # ``inter`` is mmpretrain's raw block-6 output through inter_norm
    mid = VisionTransformer(out_indices=[6], **kw)
    mid.eval()
    mid.load_state_dict(state)
    x = torch.randn(2, 3, 320, 160)
    with torch.no_grad():
        expected = saip.inter_norm(mid(x)[0])
        inter = saip.forward_tokens(x, inter_only=True)['inter']
    torch.testing.assert_close(inter, expected, rtol=0, atol=PATCH_MATMUL_ATOL)


def test_with_attn_same_tokens_and_maps_by_hand():
    model = tiny_vit()
    x = torch.randn(2, 3, 80, 40)
    seen = {}
    last = model.layers[-1]
    handle = last.register_forward_pre_hook(
        lambda m, args: seen.__setitem__('x', args[0]))
    with torch.no_grad():
        plain = model.forward_tokens(x)
        seen_plain = seen.pop('x')
        out = model.forward_tokens(x, with_attn=True)
    handle.remove()
    assert 'attn_qk' not in plain and 'x' not in seen  # custom path: no hook
    torch.testing.assert_close(out['tokens'], plain['tokens'])
    torch.testing.assert_close(out['inter'], plain['inter'])
    N = 1 + 10 * 5
    for key in ('attn_qk', 'attn_vv'):
        attn = out[key]
        assert attn.shape == (2, 2, N, N)
        assert (attn >= 0).all()
        torch.testing.assert_close(attn.sum(-1), torch.ones(2, 2, N))
    # by hand from the last block's own weights and input
    h = last.ln1(seen_plain)
    q, k, v = last.attn.qkv(h).reshape(2, N, 3, 2, 16).permute(2, 0, 3, 1, 4)
    torch.testing.assert_close(out['attn_qk'],
                               torch.softmax(q @ k.transpose(-1, -2) / 4., -1))
    torch.testing.assert_close(out['attn_vv'],
                               torch.softmax(v @ v.transpose(-1, -2) / 4., -1))
    assert not torch.allclose(out['attn_qk'], out['attn_vv'])
    with pytest.raises(ValueError):
        model.forward_tokens(x, inter_only=True, with_attn=True)


def test_inter_only_matches_full_pass_and_skips_later_blocks():
    model = tiny_vit(inter_index=1)
    model.train()  # no dropout configured
    x = torch.randn(2, 3, 64, 32)
    full = model.forward_tokens(x)
    part = model.forward_tokens(x, inter_only=True)
    assert part['tokens'] is None and 'attn_qk' not in part
    torch.testing.assert_close(part['inter'], full['inter'])
    part['inter'].square().sum().backward()
    for i, layer in enumerate(model.layers):
        got_grad = all(p.grad is not None for p in layer.parameters())
        assert got_grad == (i <= 1), i
    assert model.ln1.weight.grad is None
    assert model.inter_norm.weight.grad is not None


def test_keep_ids_permutation_and_subset():
    model = tiny_vit(inter_index=2)
    x = torch.randn(2, 3, 80, 40)  # 10x5 grid, 50 patches
    with torch.no_grad():
        full = model.forward_tokens(x)
        perm = torch.stack([torch.randperm(50) for _ in range(2)])
        shuffled = model.forward_tokens(x, keep_ids=perm)
        ids = perm[:, :12]
        sub = model.forward_tokens(x, keep_ids=ids)
    # keeping all patches in any order only reorders the tokens
    idx = perm.unsqueeze(-1).expand(-1, -1, 32)
    for key in ('inter', 'tokens'):
        torch.testing.assert_close(shuffled[key][:, 0], full[key][:, 0])
        torch.testing.assert_close(shuffled[key][:, 1:],
                                   full[key][:, 1:].gather(1, idx))
    assert sub['inter'].shape == sub['tokens'].shape == (2, 13, 32)
    assert sub['grid'] == (10, 5)
    # a subset changes the tokens (through attention) ...
    sub_idx = ids.unsqueeze(-1).expand(-1, -1, 32)
    assert not torch.allclose(
        sub['tokens'][:, 1:],
        full['tokens'][:, 1:].gather(1, sub_idx),
        atol=1e-3)

    # ... and only through attention: with the attention branches switched
    # off every token is processed on its own, position embedding included
    with torch.no_grad():
        for layer in model.layers:
            layer.attn.proj.weight.zero_()
            layer.attn.proj.bias.zero_()
        full = model.forward_tokens(x)
        sub = model.forward_tokens(x, keep_ids=ids, with_attn=True)
    for key in ('inter', 'tokens'):
        torch.testing.assert_close(sub[key][:, 0], full[key][:, 0])
        torch.testing.assert_close(sub[key][:, 1:],
                                   full[key][:, 1:].gather(1, sub_idx))
    assert sub['attn_qk'].shape == (2, 2, 13, 13)


def test_position_embedding_resized_in_2d():
    """A one-block model on a 20x10 grid: keeping every patch equals the
    plain pass, whose position table is mmpretrain's 2-D resize."""
    model = randomise(
        SAIPVisionTransformer(
            arch=dict(
                embed_dims=32,
                num_layers=1,
                num_heads=2,
                feedforward_channels=64),
            inter_index=0,
            img_size=(128, 64),
            patch_size=8,
            out_type='raw'))
    x = torch.randn(1, 3, 160, 80)
    with torch.no_grad():
        out = model.forward_tokens(x, keep_ids=torch.arange(200).unsqueeze(0))
        ref = model(x)[0]
    assert out['grid'] == (20, 10)
    torch.testing.assert_close(out['tokens'], ref, rtol=0,
                               atol=PATCH_MATMUL_ATOL)
    # the table is the 16x8 one resized in 2-D (bicubic) to 20x10
    table = model.pos_embed[:, 1:].reshape(1, 16, 8, 32).permute(0, 3, 1, 2)
    table = torch.nn.functional.interpolate(
        table, size=(20, 10), mode='bicubic', align_corners=False)
    with torch.no_grad():
        patches = model.patch_embed(x)[0]
        embedded, grid = model._embed(x, keep_ids=None)
    assert grid == (20, 10)
    torch.testing.assert_close(embedded[:, 0],
                               model.cls_token[:, 0] + model.pos_embed[:, 0])
    torch.testing.assert_close(embedded[:, 1:],
                               patches + table.flatten(2).transpose(1, 2))


def test_unbind_qkv_attention_same_values_and_gradients():
    """The swapped attention gives mmpretrain's outputs and input and
    weight gradients exactly, keeps the state dict, and both algorithms'
    students (and SAIP's decoder and EMA teacher) use it."""
    from mmpretrain.models.utils.attention import MultiheadAttention

    from projects.saip_dpal.models.utils import (UnbindQKVAttention,
                                                 unbind_qkv_attention)
    plain = randomise(VisionTransformer(arch=TINY, img_size=(64, 32),
                                        patch_size=8, out_type='raw'))
    swapped = randomise(VisionTransformer(arch=TINY, img_size=(64, 32),
                                          patch_size=8, out_type='raw'))
    keys = list(swapped.state_dict())
    unbind_qkv_attention(swapped)
    assert list(swapped.state_dict()) == keys
    assert all(type(layer.attn) is UnbindQKVAttention
               for layer in swapped.layers)
    x = torch.randn(2, 3, 64, 32)
    grads = []
    for model in (plain, swapped):
        xi = x.clone().requires_grad_(True)
        model(xi)[0].square().sum().backward()
        grads.append([xi.grad] + [p.grad for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=0, atol=0)

    import os.path as osp

    from mmengine.config import Config
    from pretrain_helpers import (CONFIG_DIR, DPAL_DEMO, SAIP_DEMO,
                                  with_small_teacher)
    from mmpretrain.registry import MODELS
    for config, parts in ((DPAL_DEMO, ('backbone', )),
                          (SAIP_DEMO, ('backbone', 'reconstruction_head',
                                       'momentum_encoder'))):
        cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
        if config == DPAL_DEMO:
            with_small_teacher(cfg)
        model = MODELS.build(cfg.model)
        for part in parts:
            attns = [m for m in getattr(model, part).modules()
                     if isinstance(m, MultiheadAttention)]
            assert attns and all(
                type(m) is UnbindQKVAttention for m in attns), part
