"""Tests of the DPAL dynamic pattern decoder."""
import pytest
import torch
import torch.nn.functional as F

import projects.saip_dpal  # noqa: F401  (registers the modules)
from mmpretrain.registry import MODELS
from projects.saip_dpal.models.necks import DPALPatternDecoder

SMALL = dict(in_channels=32, out_channels=48, num_heads=4, gate_num_heads=4)


def small_decoder(seed=0, **kwargs):
    torch.manual_seed(seed)
    decoder = DPALPatternDecoder(**{**SMALL, **kwargs})
    decoder.init_weights()
    return decoder


def test_build_from_registry():
    decoder = MODELS.build(dict(type='DPALPatternDecoder', **SMALL))
    assert isinstance(decoder, DPALPatternDecoder)


@pytest.mark.parametrize('in_channels,mid_channels', [(192, None),
                                                      (768, 192)])
def test_output_shapes_vit_sizes(in_channels, mid_channels):
    torch.manual_seed(0)
    decoder = DPALPatternDecoder(
        in_channels=in_channels, out_channels=768, mid_channels=mid_channels,
        num_heads=16, gate_num_heads=12)
    decoder.init_weights()
    x = torch.randn(2, 17, in_channels)
    with torch.no_grad():
        result = decoder(x, 1)
    assert result['out'].shape == (2, 17, 768)
    assert result['gate_logits'].shape == (2, 3)
    assert result['mixed_expert'].shape == (2, 192, 768)
    assert result['loss_gate'].shape == ()
    assert result['loss_expert_reg'].shape == ()
    assert torch.isfinite(result['out']).all()
    # the generator is C x (C * Ct): the documented ~28M weights for ViT-Ti
    assert decoder.generator[0].weight.shape == (192 * 768, 192)
    if mid_channels is None:
        assert isinstance(decoder.down_proj, torch.nn.Identity)
    else:
        assert decoder.down_proj[0].weight.shape == (192, 768)


@pytest.mark.parametrize('pattern', [0, 1, 2])
def test_gate_loss_is_cross_entropy_of_logits(pattern):
    decoder = small_decoder()
    result = decoder(torch.randn(3, 5, 32), pattern)
    expected = F.cross_entropy(result['gate_logits'],
                               torch.full((3, ), pattern))
    torch.testing.assert_close(result['loss_gate'], expected)


def test_per_sample_pattern_indices():
    decoder = small_decoder()
    result = decoder(torch.randn(3, 5, 32), torch.tensor([0, 2, 1]))
    expected = F.cross_entropy(result['gate_logits'], torch.tensor([0, 2, 1]))
    torch.testing.assert_close(result['loss_gate'], expected)


def test_mixture_regulariser_and_output_by_hand():
    decoder = small_decoder().eval()
    x = torch.randn(2, 7, 32)
    with torch.no_grad():
        result = decoder(x, 0)
        experts = decoder.generate_experts(x)  # no down-projection here
        x1 = decoder.token_norm(x + decoder.token_attn(x))
    scores = result['gate_logits'].softmax(-1)
    mixed = (scores[:, :, None, None] * experts).sum(1) / 256
    torch.testing.assert_close(result['mixed_expert'], mixed)
    reg = 0.025 * sum((mixed[b]**2).sum() for b in range(2)) / 2
    torch.testing.assert_close(result['loss_expert_reg'], reg)
    out = F.layer_norm(F.gelu(x1 @ mixed), (48, ), eps=1e-6)
    torch.testing.assert_close(result['out'], out, rtol=1e-4, atol=1e-4)


def test_constants_are_arguments():
    x = torch.randn(2, 7, 32)
    base = small_decoder()(x, 0)
    other = small_decoder(expert_scale=128., expert_reg_weight=0.05)(x, 0)
    # half the divisor doubles W: 4x the squared sum, and twice the weight
    torch.testing.assert_close(other['loss_expert_reg'],
                               8 * base['loss_expert_reg'])


def test_gradients_reach_generated_experts_and_gate():
    decoder = small_decoder(mid_channels=16)
    result = decoder(torch.randn(2, 6, 32), 2)
    loss = (result['out'].square().mean() + result['loss_gate'] +
            result['loss_expert_reg'])
    loss.backward()
    for name in ['pattern_queries', 'gate_token', 'gate_fc.weight',
                 'generator.0.weight', 'down_proj.0.weight',
                 'query_cross_attn.qkv.weight', 'token_attn.qkv.weight']:
        grad = dict(decoder.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_gate_learns_to_route_patterns():
    """Three fixed inputs, one per pattern: SGD on the gate losses routes
    each to its pattern."""
    decoder = small_decoder(seed=1)
    gen = torch.Generator().manual_seed(0)
    inputs = [
        torch.randn(4, 1, 32, generator=gen) + 1.,  # "cls tokens"
        torch.randn(4, 12, 32, generator=gen),  # "patch tokens"
        torch.randn(4, 20, 32, generator=gen) * 2. - 1.,  # "crowd tokens"
    ]
    optim = torch.optim.SGD(decoder.parameters(), lr=0.05, momentum=0.9)

    def gate_losses():
        return [decoder(x, p)['loss_gate'] for p, x in enumerate(inputs)]

    before = [loss.item() for loss in gate_losses()]
    for _ in range(30):
        optim.zero_grad()
        sum(gate_losses()).backward()
        optim.step()
    with torch.no_grad():
        after = [loss.item() for loss in gate_losses()]
        routes = [decoder(x, p)['gate_logits'].argmax(-1)
                  for p, x in enumerate(inputs)]
    for p in range(3):
        assert after[p] < before[p], (p, before, after)
        assert (routes[p] == p).all(), (p, routes)


def test_batch_independence():
    decoder = small_decoder(mid_channels=16).eval()
    x = torch.randn(2, 9, 32)
    y = x.clone()
    y[1] = torch.randn(9, 32) * 3.
    with torch.no_grad():
        a, b = decoder(x, 1), decoder(y, 1)
    torch.testing.assert_close(a['out'][0], b['out'][0])
    torch.testing.assert_close(a['gate_logits'][0], b['gate_logits'][0])
    torch.testing.assert_close(a['mixed_expert'][0], b['mixed_expert'][0])
    assert not torch.allclose(a['out'][1], b['out'][1])


def test_autocast_bfloat16():
    decoder = small_decoder()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        result = decoder(torch.randn(2, 5, 32), 0)
    assert result['loss_gate'].dtype == torch.float32
    assert result['loss_expert_reg'].dtype == torch.float32
    assert result['mixed_expert'].dtype == torch.float32
    assert torch.isfinite(result['out']).all()
