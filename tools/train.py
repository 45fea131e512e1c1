"""Train a saip-dpal (or any mmpretrain) config with the mmengine Runner.

Same interface as mmpretrain's ``tools/train.py``; runs from any directory.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmengine.device import get_device  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402

from projects.saip_dpal.utils import (  # noqa: E402
    CheckpointNotSaved, InputDataError, TrainingDivergedError, add_common_args,
    check_work_dir_writable, close_distributed, is_collective_timeout,
    load_config, merge_common_args, one_line, prepare_cpu_distributed,
    stopped_ranks_line)
from projects.saip_dpal.utils.untrusted_files import (  # noqa: E402
    read_last_checkpoint)


def _resumable(work_dir: str) -> bool:
    """Whether ``work_dir/last_checkpoint`` names an existing file (raises
    InputDataError when it holds no path)."""
    path = read_last_checkpoint(work_dir)
    return path is not None and osp.isfile(path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a value from the '
        'latest checkpoint in the work directory (an error when there is '
        'none; "--resume if-any" starts afresh then)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (AmpOptimWrapper, dynamic loss '
        'scale unless the config sets one)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by actual batch size / '
        'auto_scale_lr.base_batch_size')
    add_common_args(parser)
    args = parser.parse_args(argv)
    return parser, args


def main(argv=None):
    parser, args = parse_args(argv)
    cfg = load_config(parser, args.config)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        if get_device() == 'cpu':
            parser.exit(2, 'error: --amp: mixed precision needs a GPU and '
                        'none is visible here; train without --amp\n')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume in ('auto', 'if-any'):
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if '://' not in args.resume and not osp.isfile(args.resume):
            parser.exit(2, f'error: --resume: checkpoint not found: '
                        f'{args.resume}\n')
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    try:
        cfg = merge_common_args(cfg, args)
    except InputDataError as err:
        parser.exit(2, f'error: --cfg-options {err}\n')
    try:
        resumable = args.resume in ('auto', 'if-any') and _resumable(
            cfg.work_dir)
    except InputDataError as err:
        parser.exit(2, f'error: --resume: {err}\n')
    if args.resume == 'if-any' and not resumable:
        cfg.resume = False
    if args.resume == 'auto' and not resumable:
        parser.exit(2, f'error: --resume: nothing to resume in '
                    f'{cfg.work_dir} (no last_checkpoint naming a file); '
                    'train without --resume, or use "--resume if-any"\n')
    try:
        check_work_dir_writable(cfg.work_dir)
    except PermissionError as err:
        parser.exit(2, f'error: {err}\n')
    prepare_cpu_distributed(cfg, args.launcher)

    error = None
    try:
        _train(cfg)
    except (InputDataError, TrainingDivergedError, CheckpointNotSaved) as err:
        # bad data or checkpoint, a diverged run, a full disk: say which, once
        error = one_line(err)
    except RuntimeError as err:
        if not is_collective_timeout(err):
            raise
        # a frozen or lost rank: name it, not the collective's traceback
        error = stopped_ranks_line(
            cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout'))
    finally:
        close_distributed()  # the runner (and its traceback) are gone here
    if error is not None:
        parser.exit(1, f'error: {error}\n')


def _train(cfg):
    runner = RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
