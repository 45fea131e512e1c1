"""Measure what each kept departure from the authors' code changes.

    python tests/measure_departures.py

Runs the two parity steps (tests/parity_steps.py) as shipped, then once per
departure with the reference's behaviour patched back in, and prints, per
loss term, the relative change ``|reference-behaviour - ours| / |ours|``,
and the relative change of the patch-embedding gradient norm. The tables in
docs/fidelity.md are this script's output. It also measures how often the
reference's CSR loss mask disagrees with the patches it actually removes.
"""
import math
import os.path as osp
import sys
from contextlib import contextmanager

import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from parity_steps import dpal_step, saip_step  # noqa: E402


def resize_1d(pos, src_shape, dst_shape, mode='bicubic', num_extra_tokens=1):
    """The references' resize: the flattened grid as a (N, 1) image."""
    h, w = dst_shape
    if tuple(src_shape) == (h, w):
        return pos
    extra, grid = pos[:, :num_extra_tokens], pos[:, num_extra_tokens:]
    N, C = grid.shape[1:]
    grid = F.interpolate(grid.reshape(1, N, 1, C).permute(0, 3, 1, 2),
                         size=(h * w, 1), mode='bicubic')
    return torch.cat([extra, grid.permute(0, 2, 3, 1).reshape(1, -1, C)], 1)


@contextmanager
def patched(obj, name, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def dpal_student_pos_1d():
    import mmpretrain.models.backbones.vision_transformer as vit
    ours = vit.resize_pos_embed

    def resize(pos, src, dst, mode='bicubic', num_extra_tokens=1):
        fn = resize_1d if tuple(src) == (16, 8) else ours  # student only
        return fn(pos, src, dst, mode, num_extra_tokens)

    return patched(vit, 'resize_pos_embed', resize)


def dpal_teacher_scale_factor():
    """DINO's ``scale_factor=(h + 0.1) / 14`` resize of the 14x14 grid."""
    import mmpretrain.models.backbones.vision_transformer as vit
    ours = vit.resize_pos_embed

    def resize(pos, src, dst, mode='bicubic', num_extra_tokens=1):
        if tuple(src) != (14, 14) or tuple(src) == tuple(dst):
            return ours(pos, src, dst, mode, num_extra_tokens)
        extra, grid = pos[:, :1], pos[:, 1:]
        C = grid.shape[-1]
        grid = grid.reshape(1, 14, 14, C).permute(0, 3, 1, 2)
        grid = F.interpolate(
            grid, mode='bicubic',
            scale_factor=((dst[0] + .1) / 14, (dst[1] + .1) / 14))
        assert tuple(grid.shape[-2:]) == tuple(dst)
        return torch.cat([extra, grid.flatten(2).transpose(1, 2)], 1)

    return patched(vit, 'resize_pos_embed', resize)


def dpal_sklearn_pca():
    """scikit-learn's PCA (default 'auto' solver, numpy's global RNG) and
    ``minmax_scale`` on the CPU, as the reference computes the mask."""
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import minmax_scale

    from projects.saip_dpal.models.algorithms import dpal

    def mask(patches, grid, sign='reference'):
        B, N, C = patches.shape
        np.random.seed(0)
        rows = patches.detach().double().reshape(B * N, C).numpy()
        comp = PCA(n_components=1).fit_transform(rows)
        comp = minmax_scale(comp.reshape(-1)).reshape(B, N, 1)
        return torch.from_numpy(comp).to(patches.dtype)

    return patched(dpal, 'pca_shape_mask', mask)


def dpal_relation_softmax_log():
    """log(softmax) instead of log_softmax in the relation KL."""
    from projects.saip_dpal.models.losses import dpal_relation_alignment_loss \
        as rel

    def relation(tokens):
        tokens = tokens.float()
        logits = torch.bmm(tokens, tokens.transpose(1, 2))
        return (logits / tokens.shape[-1]**0.5).softmax(-1).log()

    return patched(rel, 'token_relation_log_softmax', relation)


def saip_pos_1d():
    from projects.saip_dpal.models.backbones import saip_vision_transformer
    return patched(saip_vision_transformer, 'resize_pos_embed', resize_1d)


def saip_nearest_floor():
    """``F.interpolate(scale_factor=f)`` (nearest, floored sizes); the patch
    convolution then drops what does not fill a patch."""
    from projects.saip_dpal.models.algorithms.saip import SAIP

    def resize(self, x, factor):
        x = F.interpolate(x, scale_factor=float(factor))
        p = self.patch_size
        return x[..., :x.shape[-2] // p * p, :x.shape[-1] // p * p]

    return patched(SAIP, '_resize', resize)


def saip_att_eps():
    """The reference's ``(t + 1e-10) (log(t + 1e-10) - log(s + 1e-10))``."""
    from projects.saip_dpal.models.losses.attention_relation_loss import \
        AttentionRelationLoss

    def kl(self, teacher, student):
        t, s = teacher.detach().float() + 1e-10, student.float() + 1e-10
        return (t * (t.log() - s.log())).sum(-1).mean()

    return patched(AttentionRelationLoss, 'kl', kl)


def run(step, patch=None):
    if patch is None:
        out = step()
    else:
        with patch:
            out = step()
    model, losses, total = out[1], out[-3], out[-2]
    grad = model.backbone.patch_embed.projection.weight.grad.norm().item()
    values = {k: v.item() for k, v in losses.items()}
    values['total'] = total.item()
    return values, grad


def table(title, step, patches):
    base, base_grad = run(step)
    keys = list(base)
    print(f'\n{title}\n')
    print('| reference behaviour | ' + ' | '.join(keys) +
          ' | grad norm, patch embedding |')
    print('|---' * (len(keys) + 2) + '|')
    for name, patch in patches:
        values, grad = run(step, patch)
        cells = [f'{abs(values[k] - base[k]) / abs(base[k]):.1e}'
                 for k in keys]
        cells.append(f'{abs(grad - base_grad) / base_grad:.1e}')
        print(f'| {name} | ' + ' | '.join(cells) + ' |')


def csr_mask_disagreement(draws=2000, seed=0):
    """How often the reference's loss mask ``1 - upsampled base keep``
    differs from the patches it removes (the first 50 after sorting)."""
    from projects.saip_dpal.models.utils.anchor_mask import anchor_keep_ids
    g = torch.Generator().manual_seed(seed)
    base_keep = []
    real = anchor_keep_ids.__globals__['keep_ids_from_base_mask']

    def spy(keep, *args, **kwargs):
        base_keep.append(keep)
        return real(keep, *args, **kwargs)

    anchor_keep_ids.__globals__['keep_ids_from_base_mask'] = spy
    try:
        _, mask, _ = anchor_keep_ids(draws, (16, 8), (20, 10), 0.25,
                                     generator=g)
    finally:
        anchor_keep_ids.__globals__['keep_ids_from_base_mask'] = real
    up = F.interpolate(base_keep[0].reshape(draws, 1, 16, 8), size=(20, 10),
                       mode='nearest').flatten(1)
    wrong = ((1 - up) != mask).sum(1)
    kept = up.sum(1)
    print(f'\nCSR loss mask over {draws} draws: the upsampled base keep '
          f'holds {kept.min():.0f}-{kept.max():.0f} patches '
          f'(mean {kept.mean():.1f}) where 50 are visible; the reference '
          f'mask disagrees with the removed set in '
          f'{(wrong > 0).float().mean():.1%} of draws, on '
          f'{wrong.float().mean():.1f} of 200 patches on average.')


def position_scramble(src=(16, 8), dims=192):
    """On a smooth 2-D sin-cos table, how many tokens of the references'
    1-D resize sit nearest (cosine) to another cell's 2-D position."""
    from mmpretrain.models.utils import resize_pos_embed

    from projects.saip_dpal.models.necks.saip_reconstruction_decoder import \
        sincos_pos_embed_2d
    table = torch.cat([torch.zeros(1, dims),
                       sincos_pos_embed_2d(src, dims)]).unsqueeze(0)
    for dst in ((8, 6), (8, 4), (16, 16), (20, 10)):
        ours = resize_pos_embed(table, src, dst, 'bicubic', 1)[0, 1:]
        ref = resize_1d(table, src, dst)[0, 1:]
        sim = F.normalize(ref, dim=1) @ F.normalize(ours, dim=1).T
        moved = (sim.argmax(1) != torch.arange(len(ours))).sum().item()
        print(f'- {src[0]}x{src[1]} -> {dst[0]}x{dst[1]}: {moved} of '
              f'{len(ours)} positions are nearest to another cell')


def ema_numbers(accumulation=4, decay=0.996):
    per_step = decay**accumulation
    half = 1 - (1 - per_step) * (1 + math.cos(math.pi / 2)) / 2
    print(f'\nEMA: per optimizer step the reference applies {decay}^'
          f'{accumulation} = {per_step:.5f}; its cosine restarts each epoch, '
          f'so it ends near {decay} instead of 1. Ours starts at '
          f'{per_step:.5f} and reaches 1 on the last optimizer step; half '
          f'way it is {half:.5f}.')


def augmentation_pixels(seeds=3):
    """Pixel differences of the OpenCV view augmentations from mmpretrain's
    Pillow ones, same seeds, on the synthetic set's 50 person crops and 8
    canvases (scale 0.25): the photometric ones on 128x96 images."""
    import glob
    import tempfile

    import cv2
    import numpy as np
    from mmengine.registry import init_default_scope

    from mmpretrain.registry import TRANSFORMS
    from projects.saip_dpal.datasets.synthetic import \
        generate_synthetic_humans
    init_default_scope('mmpretrain')
    with tempfile.TemporaryDirectory() as root:
        generate_synthetic_humans(root, seed=0, scale=0.25, subsets=['lup'])
        images = [cv2.imread(f) for f in sorted(glob.glob(
            f'{root}/**/*.jpg', recursive=True))]
    small = [cv2.resize(i, (96, 128), interpolation=cv2.INTER_AREA)
             for i in images]
    jitter = dict(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
    gray = dict(prob=1., keep_channels=True,
                channel_weights=(0.114, 0.587, 0.2989))
    blur = dict(magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=1.)
    cases = [('ColorJitter', jitter, small), ('RandomGrayscale', gray, small),
             ('GaussianBlur', blur, small)]
    for scale, area in [((128, 96), (0.05, 0.8)), ((256, 128), (0.8, 1.)),
                        ((64, 32), (0.8, 1.))]:
        crop = dict(scale=scale, crop_ratio_range=area,
                    interpolation='bicubic', aspect_ratio_range=(0.4, 0.6))
        cases.append((f'RandomResizedCrop to {scale[0]}x{scale[1]}, area '
                      f'{area}', crop, images))
    print(f'\nOpenCV augmentations against Pillow ({len(images)} images x '
          f'{seeds} seeds; |difference| in grey levels)\n')
    print('| transform | mean | 99th percentile | max | > 2 levels |')
    print('|---|---:|---:|---:|---:|')
    for name, kwargs, data in cases:
        kind = name.split()[0]
        extra = dict(backend='pillow') if kind == 'RandomResizedCrop' else {}
        pil = TRANSFORMS.build(dict(type=kind, **kwargs, **extra))
        ocv = TRANSFORMS.build(dict(type='CV2' + kind, **kwargs))
        diffs = []
        for seed, img in enumerate(data * seeds):
            np.random.seed(seed)
            a = pil(dict(img=img.copy()))['img'].astype(int)
            np.random.seed(seed)
            diffs.append(np.abs(a - ocv(dict(img=img.copy()))['img']).ravel())
        d = np.concatenate(diffs)
        print(f'| {name} | {d.mean():.2f} | {np.percentile(d, 99):.0f} | '
              f'{d.max()} | {100 * (d > 2).mean():.1f}% |')


def main():
    from mmengine.logging import MMLogger
    MMLogger.get_instance('measure_departures', log_level='WARNING')
    table('DPAL PATH-B -> ViT-Ti, parity step (relative change)', dpal_step,
          [('student positions resized in 1-D', dpal_student_pos_1d()),
           ('teacher positions by scale factor (h + 0.1) / 14',
            dpal_teacher_scale_factor()),
           ('shape mask by scikit-learn PCA (auto solver)',
            dpal_sklearn_pca()),
           ('relation KL from log(softmax)', dpal_relation_softmax_log())])
    table('SAIP ViT-Ti, parity step (relative change)', saip_step,
          [('positions resized in 1-D', saip_pos_1d()),
           ('rescales nearest, floored sizes', saip_nearest_floor()),
           ('attention KL with +1e-10 on both sides', saip_att_eps())])
    print('\n1-D position resize on a smooth sin-cos table:')
    position_scramble()
    csr_mask_disagreement()
    ema_numbers()
    augmentation_pixels()


if __name__ == '__main__':
    main()
