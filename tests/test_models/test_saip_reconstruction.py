"""Tests of SAIP's cross-scale reconstruction: anchor masks, the decoder and
the pixel loss."""
import pytest
import torch

import projects.saip_dpal  # noqa: F401  (registers the modules)
from mmpretrain.models.heads import MAEPretrainHead
from mmpretrain.registry import MODELS
from projects.saip_dpal.models.backbones import SAIPVisionTransformer
from projects.saip_dpal.models.heads import SAIPReconstructionHead
from projects.saip_dpal.models.necks import (SAIPReconstructionDecoder,
                                             sincos_pos_embed_2d)
from projects.saip_dpal.models.utils import (anchor_keep_ids,
                                             keep_ids_from_base_mask)

#: the smallest decoder: the pixel-loss tests never run it
DECODER = dict(type='SAIPReconstructionDecoder', in_channels=8, embed_dims=8,
               depth=1, num_heads=1)


def base_cell_of_target(base_grid, target_grid):
    """(Lt,) index of the base patch each target patch comes from (nearest:
    row r -> floor(r * hb / ht), col c -> floor(c * wb / wt))."""
    (hb, wb), (ht, wt) = base_grid, target_grid
    rows = torch.arange(ht) * hb // ht
    cols = torch.arange(wt) * wb // wt
    return (rows[:, None] * wb + cols[None, :]).flatten()


def check_keep_outputs(keep_ids, mask, ids_restore, B, L, K):
    assert keep_ids.shape == (B, K) and keep_ids.dtype == torch.long
    assert mask.shape == (B, L) and mask.dtype == torch.float32
    assert ids_restore.shape == (B, L) and ids_restore.dtype == torch.long
    # K distinct kept patches; mask is 0 exactly on them
    assert all(row.unique().numel() == K for row in keep_ids)
    assert torch.equal(mask.sum(1), torch.full((B, ), float(L - K)))
    assert (mask.gather(1, keep_ids) == 0).all()
    # ids_restore unshuffles [kept..., removed...] back to grid order
    ids_shuffle = ids_restore.argsort(1)
    assert torch.equal(ids_shuffle[:, :K], keep_ids)
    grid_order = torch.arange(L).expand(B, L)
    assert torch.equal(ids_shuffle.gather(1, ids_restore), grid_order)
    shuffled_mask = torch.cat([torch.zeros(B, K), torch.ones(B, L - K)], 1)
    assert torch.equal(shuffled_mask.gather(1, ids_restore), mask)


def test_anchor_keep_ids_16x8_to_20x10():
    B = 6
    g = torch.Generator().manual_seed(3)
    keep_ids, mask, ids_restore = anchor_keep_ids(
        B, (16, 8), (20, 10), keep_ratio=0.25, generator=g)
    check_keep_outputs(keep_ids, mask, ids_restore, B, 200, 50)

    # the base mask is the smallest 32 of torch.rand(B, 128) (documented)
    g = torch.Generator().manual_seed(3)
    noise = torch.rand(B, 128, generator=g)
    base_keep = torch.zeros(B, 128).scatter_(1, noise.argsort(1)[:, :32], 1.)
    up_kept = base_keep[:, base_cell_of_target((16, 8), (20, 10))]  # (B, 200)
    assert (up_kept.sum(1) > 20).all()  # 32 of 128 base patches, upsampled
    kept_from_up = up_kept.gather(1, keep_ids).sum(1)
    # as many kept patches from the upsampled kept region as it holds
    assert torch.equal(kept_from_up, up_kept.sum(1).clamp(max=50))


def test_keep_ids_from_base_mask_kept_region_first():
    # few base patches kept: all their upsampled patches are kept, the rest
    # are random removed ones
    base = torch.zeros(2, 128)
    base[0, [0, 5, 77]] = 1  # base (0,0) -> 4 target patches, etc.
    base[1, 127] = 1
    up = base[:, base_cell_of_target((16, 8), (20, 10))]
    keep_ids, mask, ids_restore = keep_ids_from_base_mask(
        base, (16, 8), (20, 10), 0.25)
    check_keep_outputs(keep_ids, mask, ids_restore, 2, 200, 50)
    assert (up.gather(1, keep_ids).sum(1) == up.sum(1)).all()
    assert (mask[up.bool()] == 0).all()
    # many kept: every kept patch comes from the upsampled kept region
    base = torch.zeros(2, 128)
    base[:, :64] = 1
    up = base[:, base_cell_of_target((16, 8), (20, 10))]
    keep_ids, mask, ids_restore = keep_ids_from_base_mask(
        base, (16, 8), (20, 10), 0.25)
    check_keep_outputs(keep_ids, mask, ids_restore, 2, 200, 50)
    assert (up.gather(1, keep_ids) == 1).all()
    # same grids: the kept set is the base set when it has K patches
    base = torch.zeros(3, 128).scatter_(
        1, torch.stack([torch.randperm(128)[:32] for _ in range(3)]), 1.)
    keep_ids, mask, _ = keep_ids_from_base_mask(base, (16, 8), (16, 8))
    assert torch.equal(mask, 1 - base)


def test_anchor_keep_ids_deterministic_and_random():

    def draw(seed):
        return anchor_keep_ids(
            4, (16, 8), (20, 10),
            generator=torch.Generator().manual_seed(seed))

    a, b, c = draw(0), draw(0), draw(1)
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    assert not torch.equal(a[1], c[1])
    # different samples of one batch get different masks
    assert not torch.equal(a[1][0], a[1][1])
    # kept order is shuffled (not sorted by grid index)
    assert not torch.equal(a[0], a[0].sort(1).values)


def test_anchor_keep_ids_other_ratio():
    keep_ids, mask, ids_restore = anchor_keep_ids(
        3, (4, 4), (6, 5),
        keep_ratio=0.5,
        generator=torch.Generator().manual_seed(0))
    check_keep_outputs(keep_ids, mask, ids_restore, 3, 30, 15)


def test_sincos_table_row_major():
    table = sincos_pos_embed_2d((3, 2), 8)  # 2 frequencies: 1, 1/100
    assert table.shape == (6, 8)
    r, c = 2, 1
    w = torch.tensor([1., 0.01])
    expected = torch.cat([(c * w).sin(), (c * w).cos(), (r * w).sin(),
                          (r * w).cos()])
    torch.testing.assert_close(table[r * 2 + c], expected)


def tiny_decoder(depth=2, **kwargs):
    torch.manual_seed(0)
    return SAIPReconstructionDecoder(
        in_channels=16,
        embed_dims=32,
        depth=depth,
        num_heads=4,
        mlp_ratio=2,
        patch_size=16,
        base_grid=(16, 8),
        **kwargs)


def test_decoder_shapes_and_position_embedding():
    dec = MODELS.build(
        dict(type='SAIPReconstructionDecoder', in_channels=192, depth=1))
    assert dec.decoder_pos_embed.shape == (1, 129, 512)
    assert 'decoder_pos_embed' not in dec.state_dict()
    keep_ids, mask, ids_restore = anchor_keep_ids(
        2, (16, 8), (20, 10), generator=torch.Generator().manual_seed(0))
    pred = dec(
        torch.randn(2, 51, 192), torch.randn(2, 1, 192), ids_restore, (20, 10))
    assert pred.shape == (2, 200, 16 * 16 * 3)

    dec = tiny_decoder()
    pos = dec.pos_embed((16, 8))
    assert pos.shape == (1, 130, 32)
    assert (pos[:, :2] == 0).all()
    torch.testing.assert_close(pos[0, 2:], sincos_pos_embed_2d((16, 8), 32))
    # 20x10: the 16x8 table resized in 2-D, bicubic
    pos = dec.pos_embed((20, 10))
    table = sincos_pos_embed_2d((16, 8), 32).T.reshape(1, 32, 16, 8)
    table = torch.nn.functional.interpolate(
        table, size=(20, 10), mode='bicubic', align_corners=False)
    torch.testing.assert_close(pos[0, 2:], table.reshape(32, 200).T)
    with pytest.raises(ValueError):
        dec(
            torch.randn(2, 51, 16), torch.randn(2, 1, 16), ids_restore,
            (16, 8))


def test_decoder_puts_tokens_back_in_grid_order():
    """Without blocks every output depends on its own token only, so it can
    be computed by hand: kept tokens at their grid index, mask tokens at the
    removed ones."""
    dec = tiny_decoder(depth=0)
    dec.eval()
    keep_ids, mask, ids_restore = anchor_keep_ids(
        2, (16, 8), (20, 10), generator=torch.Generator().manual_seed(1))
    visible = torch.randn(2, 51, 16)
    with torch.no_grad():
        pred = dec(visible, torch.randn(2, 1, 16), ids_restore, (20, 10))
        pos = dec.pos_embed((20, 10))[0, 2:]
        head = lambda t: dec.decoder_pred(dec.norm(t))  # noqa: E731
        kept = head(dec.decoder_embed(visible[:, 1:]) + pos[keep_ids])
        removed = head(dec.mask_token[0] + pos)
    for b in range(2):
        torch.testing.assert_close(pred[b, keep_ids[b]], kept[b])
        gone = mask[b].bool()
        torch.testing.assert_close(pred[b, gone], removed[gone])


def test_decoder_uses_both_cls_tokens_with_blocks():
    dec = tiny_decoder(depth=2)
    dec.init_weights()
    dec.eval()
    _, _, ids_restore = anchor_keep_ids(
        2, (16, 8), (20, 10), generator=torch.Generator().manual_seed(2))
    visible, context = torch.randn(2, 51, 16), torch.randn(2, 1, 16)
    with torch.no_grad():
        ref = dec(visible, context, ids_restore, (20, 10))
        other_ctx = dec(visible, context + 1, ids_restore, (20, 10))
        other_cls = dec(
            visible.index_add(1, torch.tensor([0]), torch.ones(2, 1, 16)),
            context, ids_restore, (20, 10))
    assert not torch.allclose(ref, other_ctx, atol=1e-4)
    assert not torch.allclose(ref, other_cls, atol=1e-4)
    assert not torch.allclose(other_cls, other_ctx, atol=1e-4)


def test_mmpretrain_head_is_square_only_and_ours_matches_it():
    mae = MAEPretrainHead(
        loss=dict(type='PixelReconstructionLoss', criterion='L2'),
        norm_pix=True)
    ours = MODELS.build(dict(type='SAIPReconstructionHead', decoder=DECODER))
    assert ours.norm_pix and ours.patch_size == 16
    with pytest.raises(AssertionError):
        mae.patchify(torch.randn(1, 3, 320, 160))
    square = torch.randn(2, 3, 64, 64)
    assert torch.equal(ours.patchify(square), mae.patchify(square))
    pred, mask = torch.randn(2, 16, 768), (torch.rand(2, 16) > 0.5).float()
    torch.testing.assert_close(
        ours.pixel_loss(pred, square, mask), mae.loss(pred, square, mask))


def test_head_patchify_non_square():
    head = SAIPReconstructionHead(DECODER, patch_size=16)
    imgs = torch.randn(2, 3, 320, 160)
    patches = head.patchify(imgs)
    assert patches.shape == (2, 200, 768)
    r, c = 13, 7  # patch (13, 7) is index 13 * 10 + 7
    expected = imgs[1, :, r * 16:(r + 1) * 16,
                    c * 16:(c + 1) * 16].permute(1, 2, 0).reshape(-1)
    assert torch.equal(patches[1, r * 10 + c], expected)
    assert torch.equal(head.unpatchify(patches, (20, 10)), imgs)
    with pytest.raises(ValueError):
        head.patchify(torch.randn(1, 3, 100, 64))


def test_loss_on_removed_patches_only():
    head = SAIPReconstructionHead(DECODER, patch_size=16)
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(2, 3, 320, 160, generator=g)
    _, mask, _ = anchor_keep_ids(2, (16, 8), (20, 10), generator=g)
    pred = torch.randn(2, 200, 768, generator=g)
    loss = head.pixel_loss(pred, imgs, mask)

    # by hand: per-patch normalised pixels, MSE averaged over removed patches
    target = head.patchify(imgs).double()
    target = (target - target.mean(-1, keepdim=True)) / (
        target.var(-1, keepdim=True) + 1e-6).sqrt()
    per_patch = ((pred.double() - target)**2).mean(-1)
    expected = (per_patch * mask).sum() / mask.sum()
    torch.testing.assert_close(loss.double(), expected)

    visible = mask == 0
    changed = pred.clone()
    changed[visible] += 5.
    torch.testing.assert_close(head.pixel_loss(changed, imgs, mask), loss)
    b, i = torch.nonzero(mask)[0].tolist()
    changed = pred.clone()
    changed[b, i] += 1.
    assert head.pixel_loss(changed, imgs, mask) > loss + 1e-4
    # gradients reach the removed patches only
    pred.requires_grad_(True)
    head.pixel_loss(pred, imgs, mask).backward()
    assert (pred.grad[visible] == 0).all()
    assert (pred.grad[~visible].abs().sum(-1) > 0).all()


def test_tiny_encoder_decoder_learns_one_batch():
    """Encoder up to its intermediate block + decoder, on a fixed batch of
    smooth 80x40 images (10x5 grid from a 8x4 base mask, patch 8)."""
    torch.manual_seed(0)
    enc = SAIPVisionTransformer(
        arch=dict(
            embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64),
        inter_index=1,
        img_size=(64, 32),
        patch_size=8)
    dec = SAIPReconstructionDecoder(
        in_channels=32,
        embed_dims=64,
        depth=1,
        num_heads=4,
        mlp_ratio=2,
        patch_size=8,
        base_grid=(8, 4))
    head = SAIPReconstructionHead(DECODER, patch_size=8)
    g = torch.Generator().manual_seed(0)
    small = torch.rand(4, 3, 8, 4, generator=g)
    big = torch.nn.functional.interpolate(
        small, size=(80, 40), mode='bilinear', align_corners=False)
    ctx_view = torch.nn.functional.interpolate(
        small, size=(64, 32), mode='bilinear', align_corners=False)
    keep_ids, mask, ids_restore = anchor_keep_ids(
        4, (8, 4), (10, 5), generator=g)
    params = [
        p for p in list(enc.parameters()) + list(dec.parameters())
        if p.requires_grad
    ]
    opt = torch.optim.Adam(params, lr=5e-3)

    def step():
        masked = enc.forward_tokens(big, keep_ids=keep_ids, inter_only=True)
        ctx = enc.forward_tokens(ctx_view, inter_only=True)['inter'][:, :1]
        pred = dec(masked['inter'], ctx, ids_restore, masked['grid'])
        return head.pixel_loss(pred, big, mask)

    losses = []
    for _ in range(50):
        loss = step()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert enc.layers[2].ffn.layers[1].weight.grad is None  # not run
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.7 * first, losses
    # and clearly below predicting the mean (0) of every normalised patch
    zero = head.pixel_loss(torch.zeros(4, 50, 192), big, mask).item()
    assert 0.9 < zero < 1.
    assert last < 0.85 * zero, (losses, zero)
