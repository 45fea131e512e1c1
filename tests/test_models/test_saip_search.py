"""Tests of SAIP's cross-scale search head."""
import pytest
import torch
import torch.nn.functional as F

import projects.saip_dpal  # noqa: F401  (registers the modules)
from mmpretrain.registry import MODELS
from projects.saip_dpal.models.heads import SAIPSearchHead, mask_to_grid


def small_head(**kwargs):
    cfg = dict(in_channels=16, embed_dims=32, num_heads=4, num_layers=2)
    cfg.update(kwargs)
    head = MODELS.build(dict(type='SAIPSearchHead', **cfg))
    head.init_weights()
    return head


def test_logits_shape_and_structure():
    torch.manual_seed(0)
    head = small_head()
    assert isinstance(head, SAIPSearchHead)
    assert len(head.query_blocks) == 2
    convs = [m for m in head.mask_head if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(1, 1)] + [(3, 3)] * 3
    query = torch.randn(2, 1 + 8, 16)
    search = torch.randn(2, 1 + 4 * 3, 16)
    logits = head(query, search, (4, 3))
    assert logits.shape == (2, 4, 3)
    # logits are the kernel . features at every location
    patches = search[:, 1:]
    kernel = head.query_kernel(query, patches)
    feats = head.mask_features(patches, (4, 3))
    assert kernel.shape == (2, 32) and feats.shape == (2, 32, 4, 3)
    expected = (kernel[:, :, None, None] * feats).sum(1)
    torch.testing.assert_close(logits, expected)
    # the search cls token is not a search location, and the mask features
    # depend on the location (row-major token order)
    search2 = search.clone()
    search2[:, 0] += 1.
    torch.testing.assert_close(
        head.mask_features(search2[:, 1:], (4, 3)), feats)
    one = patches[:1].reshape(1, 4, 3, 16)[0, 2, 1]
    torch.testing.assert_close(
        head.mask_head[:2](patches[:1].transpose(1, 2).reshape(1, 16, 4,
                                                               3))[0, :, 2, 1],
        F.gelu(head.mask_head[0].weight[:, :, 0, 0] @ one +
               head.mask_head[0].bias))
    with pytest.raises(ValueError):
        head(query, search, (3, 3))


def test_two_queries_share_one_pass_of_the_mask_head():
    """A list of queries gives each query's own logits, with the composite's
    mask features computed once (forward and backward)."""
    torch.manual_seed(0)
    head = small_head()
    queries = [torch.randn(2, 1 + 8, 16), torch.randn(2, 1 + 5, 16)]
    search = torch.randn(2, 1 + 4 * 3, 16)
    calls = []
    head.mask_head.register_forward_hook(lambda *_: calls.append(1))
    both = head(queries, search, (4, 3))
    assert len(calls) == 1 and len(both) == 2
    for q, logits in zip(queries, both):
        torch.testing.assert_close(logits, head(q, search, (4, 3)))
    sum(x.sum() for x in both).backward()
    assert head.mask_head[0].weight.grad.abs().sum() > 0


def test_default_sizes():
    head = SAIPSearchHead(192)
    assert head.query_embed.out_features == 512
    assert head.kernel_proj.out_features == 512
    # the reference's 16 heads, and a full pre-norm cross-attention block
    assert head.cross_block.attn.num_heads == 16
    assert all(b.attn.num_heads == 16 for b in head.query_blocks)
    assert head.cross_block.mlp[0].out_features == 2048
    logits = head(
        torch.randn(1, 1 + 32, 192), torch.randn(1, 1 + 196, 192), (14, 14))
    assert logits.shape == (1, 14, 14)


def test_mask_to_grid_places_the_box():
    masks = torch.zeros(2, 224, 224, dtype=torch.uint8)
    masks[0, 32:80, 48:112] = 1  # rows 2..4, cols 3..6 of a 14x14 grid
    grid = mask_to_grid(masks, (14, 14))
    assert grid.shape == (2, 14, 14) and grid.dtype == torch.float32
    expected = torch.zeros(2, 14, 14)
    expected[0, 2:5, 3:7] = 1
    assert torch.equal(grid, expected)
    # non-square images and grids (256x128 -> 16x8)
    m = torch.zeros(1, 256, 128, dtype=torch.bool)
    m[0, 64:128, 16:48] = True
    g = mask_to_grid(m, (16, 8))
    expected = torch.zeros(1, 16, 8)
    expected[0, 4:8, 1:3] = 1
    assert torch.equal(g, expected)
    with pytest.raises(ValueError):
        mask_to_grid(m[0], (16, 8))


def test_loss_equals_bce_by_hand():
    torch.manual_seed(0)
    head = small_head(loss_weight=2.)
    logits = torch.randn(2, 4, 3, dtype=torch.float64)
    masks = torch.zeros(2, 64, 48)
    masks[0, 16:48, 0:16] = 1
    masks[1, 0:16, 32:48] = 1
    target = torch.zeros(2, 4, 3, dtype=torch.float64)
    target[0, 1:3, 0] = 1
    target[1, 0, 2] = 1
    p = torch.sigmoid(logits)
    bce = -(target * p.log() + (1 - target) * (1 - p).log()).mean()
    loss = head.mask_loss(logits.float(), masks)
    assert loss.dtype == torch.float32 and loss.dim() == 0
    torch.testing.assert_close(loss.double(), 2 * bce)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss_bf16 = head.mask_loss(logits.bfloat16(), masks)
    assert loss_bf16.dtype == torch.float32


def test_training_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    head = small_head()
    B, h, w = 4, 4, 4
    query = torch.randn(B, 1 + 8, 16)
    search = torch.randn(B, 1 + h * w, 16)
    masks = torch.zeros(B, 64, 64)
    for b in range(B):  # a different box per sample
        masks[b, 16 * (b % 3):16 * (b % 3) + 32, 16 * b:16 * b + 16] = 1
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)
    losses = []
    for _ in range(50):
        loss = head.mask_loss(head(query, search, (h, w)), masks)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses[::10]
    assert losses[-1] < 0.2
    # the learned logits pick the boxes
    pred = head(query, search, (h, w)) > 0
    assert torch.equal(pred.float(), mask_to_grid(masks, (h, w)))
