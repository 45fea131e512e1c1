"""Tests of the DPAL PCA shape mask."""
import numpy as np
import pytest
import torch

from projects.saip_dpal.models.utils import pca_shape_mask


def sklearn_mask(tokens):
    """What the reference does: sklearn PCA(1) on all rows, min-max."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import minmax_scale
    B, Np, C = tokens.shape
    rows = tokens.reshape(B * Np, C).double().numpy()
    return minmax_scale(PCA(n_components=1).fit_transform(rows)).reshape(
        B, Np, 1)


def structured_tokens(seed, B, Np, C, scale=1., offset=0.):
    """Tokens with a dominant direction plus noise (like ViT features)."""
    gen = torch.Generator().manual_seed(seed)
    direction = torch.randn(C, generator=gen)
    score = torch.randn(B, Np, 1, generator=gen) * 3.
    noise = torch.randn(B, Np, C, generator=gen) * 0.3
    return (score * direction + noise + offset) * scale


@pytest.mark.parametrize('method', ['eigh', 'power'])
@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('B,Np,C', [(2, 32, 48),   # sklearn 'full' svd
                                    (8, 128, 64)])  # sklearn covariance eigh
def test_reference_sign_matches_sklearn(seed, B, Np, C, method):
    tokens = structured_tokens(seed, B, Np, C)
    # -tokens has the same component up to sign, so exactly one of the two
    # calls needs the flip: both matching sklearn proves the sign rule.
    for t in (tokens, -tokens):
        mask = pca_shape_mask(t, sign='reference', method=method)
        assert mask.shape == (B, Np, 1) and mask.dtype == torch.float32
        np.testing.assert_allclose(mask.numpy(), sklearn_mask(t), atol=1e-5)
    torch.testing.assert_close(
        pca_shape_mask(-tokens), 1 - pca_shape_mask(tokens),
        atol=1e-5, rtol=0)


@pytest.mark.parametrize('method', ['eigh', 'power'])
@pytest.mark.parametrize('seed', range(3))
def test_reference_sign_matches_sklearn_random_features(seed, method):
    """Unstructured features, as long as the top eigenvalue is separated
    (here the two largest are only 10% apart)."""
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randn(4, 16, 8, generator=gen) * torch.linspace(
        3, 0.5, 8)
    np.testing.assert_allclose(
        pca_shape_mask(tokens, method=method).numpy(), sklearn_mask(tokens),
        atol=1e-5)


def test_power_method_on_teacher_like_features():
    """768-wide tokens of a ViT-B-sized batch: both methods agree."""
    tokens = structured_tokens(0, 16, 128, 768)
    torch.testing.assert_close(
        pca_shape_mask(tokens, method='power'),
        pca_shape_mask(tokens, method='eigh'), atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match='method must be one of'):
        pca_shape_mask(tokens, method='svd')


def blob_tokens(sign, B=2, h=16, w=8, C=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    direction = torch.randn(C, generator=gen)
    ys = torch.arange(h).float().sub((h - 1) / 2).div(h / 4)
    xs = torch.arange(w).float().sub((w - 1) / 2).div(w / 4)
    blob = torch.exp(-(ys[:, None]**2 + xs[None, :]**2))  # centre bright
    blob = blob.reshape(1, h * w, 1).expand(B, -1, -1)
    noise = torch.randn(B, h * w, C, generator=gen) * 0.05
    return sign * blob * direction + noise


def centre_minus_border(mask, h, w):
    grid = mask.reshape(-1, h, w)
    centre = torch.zeros(h, w, dtype=torch.bool)
    centre[h // 4:h - h // 4, w // 4:w - w // 4] = True
    return grid[:, centre].mean() - grid[:, ~centre].mean()


def test_centre_sign_puts_the_person_high():
    h, w = 16, 8
    reference = []
    for sign in (1., -1.):
        tokens = blob_tokens(sign)
        mask = pca_shape_mask(tokens, grid_size=(h, w), sign='centre')
        assert centre_minus_border(mask, h, w) > 0.3
        assert mask.min() == 0 and mask.max() == 1
        reference.append(centre_minus_border(pca_shape_mask(tokens), h, w))
    # the sklearn rule is blind to the layout: one of the two is inverted
    assert min(reference) < 0 < max(reference)


def test_centre_needs_a_matching_grid():
    with pytest.raises(ValueError):
        pca_shape_mask(torch.randn(2, 12, 8), sign='centre')
    with pytest.raises(ValueError):
        pca_shape_mask(torch.randn(2, 12, 8), grid_size=(3, 3),
                       sign='centre')
    with pytest.raises(ValueError):
        pca_shape_mask(torch.randn(2, 12, 8), sign='up')


@pytest.mark.parametrize('sign', ['reference', 'centre'])
def test_range_is_exactly_unit(sign):
    mask = pca_shape_mask(torch.randn(3, 32, 16), grid_size=(8, 4),
                          sign=sign)
    assert mask.min().item() == 0.0 and mask.max().item() == 1.0


def test_autocast_bfloat16_returns_fp32():
    tokens = structured_tokens(0, 2, 32, 48)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        mask = pca_shape_mask(tokens.bfloat16(), grid_size=(8, 4),
                              sign='centre')
        mask_fp32_in = pca_shape_mask(tokens)
    assert mask.dtype == torch.float32 and mask_fp32_in.dtype == torch.float32
    assert torch.isfinite(mask).all()
    assert mask.min() == 0 and mask.max() == 1
    # autocast must not lower the precision of an fp32 computation
    np.testing.assert_allclose(mask_fp32_in.numpy(), sklearn_mask(tokens),
                               atol=1e-5)


def test_no_nan_for_float64_and_large_values():
    tokens = structured_tokens(1, 2, 32, 48)
    mask64 = pca_shape_mask(tokens.double())
    assert mask64.dtype == torch.float64 and torch.isfinite(mask64).all()
    np.testing.assert_allclose(mask64.numpy(), sklearn_mask(tokens),
                               atol=1e-9)
    # magnitudes of ~1e3 (fp16 included) and a large common offset
    big = structured_tokens(2, 2, 32, 48, scale=1e3 / 3)
    for t in (big, big.half(), big + 3e4, big.double() * 1e150):
        mask = pca_shape_mask(t)
        assert torch.isfinite(mask).all()
        assert mask.min() == 0 and mask.max() == 1
    np.testing.assert_allclose(pca_shape_mask(big).numpy(),
                               sklearn_mask(big), atol=1e-5)


def test_constant_tokens_give_zeros_not_nan():
    mask = pca_shape_mask(torch.ones(2, 8, 4))
    assert torch.equal(mask, torch.zeros(2, 8, 1))


def test_no_gradient_to_tokens():
    tokens = torch.randn(2, 8, 4, requires_grad=True)
    assert not pca_shape_mask(tokens).requires_grad
