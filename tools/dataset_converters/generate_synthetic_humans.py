"""Write the embedded synthetic human-centric datasets.

    python tools/dataset_converters/generate_synthetic_humans.py OUT_DIR \
        [--seed 0] [--scale 1.0] [--subsets lup coco lip market pa100k]

Deterministic: the same seed and scale give byte-identical files.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# the package's SUBSETS, repeated so that --help needs no heavy import
SUBSETS = ('lup', 'coco', 'lip', 'market', 'pa100k')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate synthetic articulated humans in the on-disk '
        'formats of LUPerson (+ scene canvases), COCO keypoints, LIP, '
        'Market-1501 and PA-100K.')
    parser.add_argument('out_dir', help='output root folder')
    parser.add_argument('--seed', type=int, default=0,
                        help='non-negative seed (default 0)')
    parser.add_argument('--scale', type=float, default=1.0,
                        help='multiplies every item count (default 1.0)')
    parser.add_argument('--subsets', nargs='+', choices=SUBSETS,
                        default=list(SUBSETS),
                        help='formats to write (default: all)')
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error('--seed must be >= 0')
    if not args.scale > 0:
        parser.error('--scale must be > 0')
    return args


def main(argv=None):
    args = parse_args(argv)
    from projects.saip_dpal.datasets.synthetic import (
        format_summary, generate_synthetic_humans)
    from projects.saip_dpal.utils import InputDataError
    try:
        summary = generate_synthetic_humans(
            args.out_dir, seed=args.seed, scale=args.scale,
            subsets=args.subsets)
    except InputDataError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(1)
    print(format_summary(summary))


if __name__ == '__main__':
    main()
