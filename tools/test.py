"""Test (evaluate) a checkpoint with the mmengine Runner.

Same interface as mmpretrain's ``tools/test.py``; runs from any directory.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import mmengine  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402

from projects.saip_dpal.utils import (InputDataError,  # noqa: E402
                                      add_common_args, close_distributed,
                                      load_config,
                                      merge_common_args, one_line,
                                      prepare_cpu_distributed)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='dump the metrics to this file (json/yaml/pkl)')
    parser.add_argument(
        '--tta',
        action='store_true',
        help="test-time augmentation: the config's tta_pipeline and "
        'tta_model (e.g. multi-scale + flip for parsing)')
    add_common_args(parser)
    args = parser.parse_args(argv)
    return parser, args


def main(argv=None):
    parser, args = parse_args(argv)
    cfg = load_config(parser, args.config)
    if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
        parser.error(f'checkpoint file not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    try:
        cfg = merge_common_args(cfg, args)
    except InputDataError as err:
        parser.exit(2, f'error: --cfg-options {err}\n')
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            parser.error(f'--tta: {args.config} has no tta_model / '
                         'tta_pipeline')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    prepare_cpu_distributed(cfg, args.launcher)

    error = metrics = None
    try:
        metrics = _test(cfg)
    except InputDataError as err:  # bad data or checkpoint: say which, once
        error = one_line(err)
    finally:
        close_distributed()  # the runner (and its traceback) are gone here
    if error is not None:
        parser.exit(1, f'error: {error}\n')
    if args.out:
        mmengine.dump(metrics, args.out)


def _test(cfg):
    runner = RUNNERS.build(cfg)
    return runner.test()


if __name__ == '__main__':
    main()
