"""Fine-tune several backbones on the downstream tasks, side by side.

    python tools/analysis_tools/hvp_benchmark.py \
        --backbone random DPAL=work_dirs/demo/dpal_backbone.pth \
                   SAIP=work_dirs/demo/saip_backbone.pth \
        [--tasks pose parsing reid attribute] [--epochs 2] \
        [--data data/synthetic] [--work-dir work_dirs/hvp_benchmark]

Each ``NAME=FILE`` is a file written by
``tools/model_converters/extract_backbone.py`` (its recorded architecture is
used); ``random`` (or ``NAME=random``) fine-tunes the task config's own
ViT-Ti from random initialisation. Every backbone gets the same seed, data
order and head initialisation. Tasks are the synthetic-data configs of
``configs/{pose,parsing,reid,attribute}`` (pose AP, parsing mIoU, ReID
mAP / Rank-1, attribute mA, in percent). Prints a markdown table and, with
``--out``, writes the results as JSON.
"""
import argparse
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DEFAULT_TASKS = ('pose', 'parsing', 'reid')


def parse_backbones(parser, specs):
    """['random', 'DPAL=a.pth'] -> {'random': None, 'DPAL': 'a.pth'}."""
    backbones = {}
    for spec in specs:
        name, _, path = spec.partition('=')
        if not path:
            name, path = (spec, 'random') if spec == 'random' else (
                osp.splitext(osp.basename(spec))[0], spec)
        if name in backbones:
            parser.error(f'backbone name {name!r} given twice')
        backbones[name] = None if path == 'random' else path
    return backbones


def parse_args(argv=None):
    from projects.saip_dpal.benchmarks import HVP_TASKS
    parser = argparse.ArgumentParser(
        description='Fine-tune backbones on pose / parsing / ReID / '
        'attributes (synthetic data) and print the metrics side by side.')
    parser.add_argument('--backbone', nargs='+', required=True,
                        metavar='NAME=FILE',
                        help="extracted backbone files, or 'random'")
    parser.add_argument('--tasks', nargs='+', default=list(DEFAULT_TASKS),
                        choices=list(HVP_TASKS))
    parser.add_argument('--data', default=osp.join(ROOT, 'data', 'synthetic'),
                        help='root of the synthetic datasets (make data)')
    parser.add_argument('--work-dir',
                        default=osp.join(ROOT, 'work_dirs', 'hvp_benchmark'))
    parser.add_argument('--epochs', type=int, default=None,
                        help="fine-tuning epochs (default: each config's)")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='also write the results as JSON')
    parser.add_argument('--verbose', action='store_true',
                        help='keep the Runners\' INFO logs on the console')
    args = parser.parse_args(argv)
    args.backbones = parse_backbones(parser, args.backbone)
    return parser, args


def main(argv=None):
    import projects.saip_dpal  # noqa: F401  (registers the modules)
    from projects.saip_dpal.benchmarks import (format_hvp_table,
                                               run_hvp_benchmark)
    from projects.saip_dpal.utils import InputDataError, one_line
    parser, args = parse_args(argv)
    try:
        results = run_hvp_benchmark(
            args.backbones, args.tasks, args.data, args.work_dir,
            seed=args.seed, epochs=args.epochs, verbose=args.verbose)
    except InputDataError as err:
        parser.exit(1, f'error: {one_line(err)}\n')
    print(format_hvp_table(results))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == '__main__':
    main()
