"""Show what a backbone sees: per image, its patch features as three
principal components (RGB), the last block's cls attention (ViTs) and
DPAL's shape mask (the first component, min-max scaled).

    python tools/visualization/vis_backbone.py CHECKPOINT IMAGE [IMAGE ...] \
        --out maps.png [--size H W] [--momentum] [--config CONFIG]

CHECKPOINT: a file of extract_backbone.py, a DPAL / SAIP training
checkpoint (``--momentum`` for its momentum encoder), or any checkpoint
with ``backbone.`` keys together with ``--config`` (a config whose
``model.backbone`` describes it). IMAGE: image files or folders. The
components are fitted over all the images at once, so colours compare
across rows. Reads the checkpoint weights-only. Runs from any directory.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Patch-feature PCA, last-block attention and shape mask '
        'of a backbone on images, as one PNG.')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+', help='image files or folders')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                        default=(256, 128), help='input size (default: '
                        '256 128, the person crops of pretraining)')
    parser.add_argument('--momentum', action='store_true',
                        help="a training checkpoint's momentum encoder "
                        'instead of its student')
    parser.add_argument('--config', help='config with model.backbone, for '
                        'checkpoints that record no architecture')
    parser.add_argument('--max-images', type=int, default=8)
    return parser, parser.parse_args(argv)


def main(argv=None):
    parser, args = parse_args(argv)
    import cv2
    from mmengine.registry import init_default_scope

    import projects.saip_dpal  # noqa: F401  (registers the modules)
    from projects.saip_dpal.models.utils.backbone_extraction import \
        build_backbone_from_file
    from projects.saip_dpal.utils import InputDataError, one_line
    from projects.saip_dpal.utils.image_folder import find_images
    from projects.saip_dpal.visualization import write_backbone_maps
    init_default_scope('mmpretrain')
    try:
        backbone_cfg = None
        if args.config:
            from mmengine.config import Config
            backbone_cfg = Config.fromfile(args.config).model.backbone
        backbone = build_backbone_from_file(args.checkpoint, args.momentum,
                                            backbone_cfg)
        paths = []
        for item in args.images:
            paths += sorted(find_images(item)) if osp.isdir(item) else [item]
        images = []
        for path in paths[:args.max_images]:
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                raise InputDataError(f'not a readable image: {path}')
            images.append(img)
        if not images:
            raise InputDataError(f'no images in {" ".join(args.images)}')
        titles = write_backbone_maps(backbone, images, args.out,
                                     tuple(args.size))
    except InputDataError as err:
        parser.exit(1, f'error: {one_line(err)}\n')
    print(f'{len(images)} images -> {args.out} (columns: '
          f'{", ".join(titles)})')


if __name__ == '__main__':
    main()
