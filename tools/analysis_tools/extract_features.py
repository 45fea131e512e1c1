"""cls and patch features of images from an extracted backbone file.

    python tools/analysis_tools/extract_features.py BACKBONE IMAGES...
        --out feats.npz [--img-size H W] [--batch-size 32] [--device cpu]

``BACKBONE`` is a file of ``tools/model_converters/extract_backbone.py``
(it records its architecture); ``IMAGES`` are image files or folders
(searched recursively). Writes ``names`` (N,), ``cls`` (N, C) and ``patch``
(N, C, h, w) as float32 arrays. Runs from any directory.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract cls and patch features of images with an '
        'extracted backbone file.')
    parser.add_argument('backbone', help='file of extract_backbone.py')
    parser.add_argument('images', nargs='+', help='image files or folders')
    parser.add_argument('--out', required=True, help='output .npz file')
    parser.add_argument('--img-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size (defaults to the recorded one)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--device', default='cpu')
    return parser, parser.parse_args(argv)


def main(argv=None):
    parser, args = parse_args(argv)
    import numpy as np

    import projects.saip_dpal  # noqa: F401
    from projects.saip_dpal.apis import (extract_features, image_files,
                                         load_backbone)
    from projects.saip_dpal.utils import InputDataError, one_line
    try:
        model = load_backbone(args.backbone, args.img_size).to(args.device)
        files = image_files(args.images)
        feats = extract_features(model, files, args.batch_size)
    except InputDataError as err:
        parser.exit(1, f'error: {one_line(err)}\n')
    np.savez(args.out, names=np.array(files), cls=feats['cls'].numpy(),
             patch=feats['patch'].numpy())
    h, w = model.input_size
    print(f'{len(files)} images at {h}x{w}: cls '
          f'{tuple(feats["cls"].shape)}, patch {tuple(feats["patch"].shape)}'
          f' -> {args.out}')


if __name__ == '__main__':
    main()
