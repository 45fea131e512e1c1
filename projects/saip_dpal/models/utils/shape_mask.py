"""The DPAL shape mask: first principal component of teacher patch tokens."""
from typing import Optional, Tuple

import torch

SIGN_RULES = ('reference', 'centre')


METHODS = ('auto', 'eigh', 'power')


def _top_eigvec_eigh(scatter: torch.Tensor) -> torch.Tensor:
    """Leading eigenvector (C,) of a symmetric PSD matrix by ``eigh``.

    ``torch.linalg.eigh`` synchronises a CUDA device with the host for its
    error check; on the CPU this is the fastest exact route.
    """
    return torch.linalg.eigh(scatter)[1][:, -1]


def _top_eigvec_power(scatter: torch.Tensor,
                      squarings: int = 10,
                      polish: int = 4) -> torch.Tensor:
    """Leading eigenvector (C,) of a symmetric PSD matrix, sync-free.

    Repeated squaring (trace-normalised) raises the eigenvalue ratio to the
    power 2 ** ``squarings`` (1024: a 0.99 ratio becomes 3e-5), so the
    matrix tends to ``v v^T``; its column of largest diagonal is ``v`` up to
    scale. A few power iterations with the original matrix polish the
    precision. Only GEMMs and device-side indexing: no host round trip.
    """
    tiny = torch.finfo(scatter.dtype).tiny
    m = scatter / scatter.diagonal().sum().clamp_min(tiny)
    for _ in range(squarings):
        m = m @ m
        m = m / m.diagonal().sum().clamp_min(tiny)
    v = m.index_select(1, m.diagonal().argmax().reshape(1)).squeeze(1)
    for _ in range(polish):
        v = scatter @ v
        v = v / v.norm().clamp_min(tiny)
    return v


def _first_component(rows: torch.Tensor, method: str) -> torch.Tensor:
    """Top principal direction (C,) of centred rows (M, C).

    The leading eigenvector of the C x C scatter matrix: for M = B * Np >> C
    one GEMM plus O(C^3) work whatever M is, instead of an SVD of all M
    rows. ``method``: ``'eigh'`` (exact, syncs a CUDA device), ``'power'``
    (repeated squaring, sync-free), ``'auto'``: eigh on the CPU, power on
    accelerators.
    """
    scatter = rows.T @ rows
    if method == 'auto':
        method = 'eigh' if rows.device.type == 'cpu' else 'power'
    if method == 'eigh':
        return _top_eigvec_eigh(scatter)
    return _top_eigvec_power(scatter)


def _reference_flip(component: torch.Tensor) -> torch.Tensor:
    """scikit-learn's sign rule (``svd_flip(u_based_decision=False)``).

    True where the entry of largest magnitude of the component is negative,
    i.e. where the sign must flip so that entry becomes positive.
    """
    pivot = component.gather(0, component.abs().argmax().reshape(1))
    return pivot[0] < 0


def _centre_flip(projection: torch.Tensor,
                 grid_size: Tuple[int, int]) -> torch.Tensor:
    """True where the central region is darker than the border.

    ``projection`` is (B, h * w). The central region is the middle half of
    the grid in each direction (rows ``h // 4 : h - h // 4``, likewise for
    columns); the border is the rest. One sign for the whole batch, because
    the principal component is shared by the batch.
    """
    h, w = grid_size
    grid = projection.reshape(-1, h, w)
    r0, c0 = h // 4, w // 4
    centre = grid[:, r0:h - r0, c0:w - c0]
    n_centre = centre.numel()
    n_border = grid.numel() - n_centre
    centre_sum = centre.sum()
    centre_mean = centre_sum / max(n_centre, 1)
    border_mean = (grid.sum() - centre_sum) / max(n_border, 1)
    return centre_mean < border_mean


def pca_shape_mask(tokens: torch.Tensor,
                   grid_size: Optional[Tuple[int, int]] = None,
                   sign: str = 'reference',
                   eps: float = 1e-6,
                   method: str = 'auto') -> torch.Tensor:
    """Shape mask of DPAL: batch-wide PCA (1 component), min-max scaled.

    All B * Np token rows are centred and projected on their first
    principal direction; the projections are min-max scaled to [0, 1] over
    the whole batch. Computed on the tokens' device in fp32 (fp64 for fp64
    input) with autocast disabled; no gradient flows to ``tokens``.

    Args:
        tokens (Tensor): Patch tokens (B, Np, C), no cls token.
        grid_size (tuple[int, int], optional): Token grid (h, w) with
            h * w = Np; needed for ``sign='centre'``.
        sign (str): How the arbitrary PCA sign is fixed.
            ``'reference'``: scikit-learn's rule, so the result equals
            ``minmax_scale(PCA(n_components=1).fit_transform(rows))`` as in
            the reference implementation (the entry of largest magnitude of
            the component is made positive).
            ``'centre'``: the mask is oriented so that its mean over the
            central region of the (h, w) grid is >= its mean on the border
            (the person, centred in the crop, is high).
        eps (float): Lower bound of the max - min range in the scaling, so
            constant input gives zeros rather than NaN.
        method (str): How the component is found: ``'eigh'`` (exact;
            synchronises a CUDA device with the host), ``'power'``
            (repeated squaring; no host round trip) or ``'auto'`` (eigh on
            the CPU, power elsewhere).

    Returns:
        Tensor: Mask (B, Np, 1) in [0, 1], fp32 (fp64 for fp64 input).
    """
    if method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    if sign not in SIGN_RULES:
        raise ValueError(f'sign must be one of {SIGN_RULES}, got {sign!r}')
    if tokens.dim() != 3:
        raise ValueError(
            f'tokens must be (B, Np, C), got {tuple(tokens.shape)}')
    B, Np, C = tokens.shape
    if sign == 'centre':
        if grid_size is None or grid_size[0] * grid_size[1] != Np:
            raise ValueError(f"sign='centre' needs grid_size (h, w) with "
                             f'h * w = {Np}, got {grid_size}')
    dtype = torch.float64 if tokens.dtype == torch.float64 else torch.float32
    with torch.no_grad(), torch.autocast(
            device_type=tokens.device.type, enabled=False):
        rows = tokens.detach().to(dtype).reshape(B * Np, C)
        rows = rows - rows.mean(dim=0, keepdim=True)
        # The mask is scale invariant; unit max magnitude keeps the scatter
        # matrix far from overflow for any input magnitude.
        rows = rows / rows.abs().amax().clamp_min(torch.finfo(dtype).tiny)
        component = _first_component(rows, method)
        projection = rows @ component
        if sign == 'reference':
            flip = _reference_flip(component)
        else:
            flip = _centre_flip(projection.reshape(B, Np), grid_size)
        projection = torch.where(flip, -projection, projection)
        low, high = projection.aminmax()
        mask = (projection - low) / (high - low).clamp_min(eps)
    return mask.reshape(B, Np, 1)
