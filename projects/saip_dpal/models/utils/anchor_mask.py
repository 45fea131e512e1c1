"""Random patch masks drawn on a base grid and carried to a larger grid."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F


def keep_ids_from_base_mask(
    base_keep: torch.Tensor,
    base_grid: Sequence[int],
    target_grid: Sequence[int],
    keep_ratio: float = 0.25,
    generator: Optional[torch.Generator] = None
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Carry a keep mask from ``base_grid`` to ``target_grid``.

    The (B, hb * wb) keep mask (1 kept, 0 removed, row-major) is upsampled
    (nearest) to the (ht, wt) target grid; the target patches are sorted
    kept-first, in random order inside each group (MAE's argsort of noise),
    and the first ``K = int(ht * wt * keep_ratio)`` are kept. So the kept
    patches come from the upsampled kept region as far as it reaches, and
    only when it holds fewer than K patches are random removed ones added.

    Returns:
        keep_ids (B, K) long: kept target patches (row-major indices).
        mask (B, L) float: 1 on removed, 0 on kept patches, grid order.
        ids_restore (B, L) long: gathering ``[kept..., removed...]`` with it
        along dim 1 restores the grid order.
    """
    hb, wb = base_grid
    ht, wt = target_grid
    B = base_keep.shape[0]
    L = ht * wt
    num_keep = int(L * keep_ratio)
    up = F.interpolate(
        base_keep.reshape(B, 1, hb, wb).float(), size=(ht, wt),
        mode='nearest').flatten(1)
    noise = torch.rand(B, L, device=base_keep.device, generator=generator)
    # kept patches score in [-1, 0), removed ones in [0, 1)
    ids_shuffle = (noise - up).argsort(dim=1)
    ids_restore = ids_shuffle.argsort(dim=1)
    keep_ids = ids_shuffle[:, :num_keep]
    mask = torch.ones(B, L, device=base_keep.device)
    mask[:, :num_keep] = 0
    mask = mask.gather(1, ids_restore)
    return keep_ids, mask, ids_restore


def anchor_keep_ids(
    batch_size: int,
    base_grid: Sequence[int],
    target_grid: Sequence[int],
    keep_ratio: float = 0.25,
    device=None,
    generator: Optional[torch.Generator] = None
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random keep mask on ``base_grid`` used on ``target_grid`` (SAIP CSR).

    Per sample, exactly ``round(keep_ratio * hb * wb)`` base patches are
    kept (uniformly at random: the smallest of ``torch.rand(B, hb * wb)``),
    then :func:`keep_ids_from_base_mask` carries the mask to the target grid
    (e.g. 16x8 -> 20x10, 50 of 200 patches kept at 25%). Everything stays on
    ``device`` (the generator's device when None); no host sync.

    Returns:
        keep_ids (B, K) long, mask (B, L) float (1 removed), ids_restore
        (B, L) long, as :func:`keep_ids_from_base_mask`.
    """
    if device is None:
        device = generator.device if generator is not None else 'cpu'
    hb, wb = base_grid
    Lb = hb * wb
    noise = torch.rand(batch_size, Lb, device=device, generator=generator)
    base_keep = torch.zeros(batch_size, Lb, device=device)
    base_keep.scatter_(1, noise.argsort(dim=1)[:, :round(keep_ratio * Lb)], 1.)
    return keep_ids_from_base_mask(base_keep, base_grid, target_grid,
                                   keep_ratio, generator)
