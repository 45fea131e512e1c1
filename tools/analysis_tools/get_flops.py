"""Parameters and FLOPs of a config's backbone (what a checkpoint releases).

    python tools/analysis_tools/get_flops.py CONFIG [--shape 256 128]

Counts with ``mmengine.analysis.get_model_complexity_info`` on one
(1, 3, H, W) input (a multiply-add counts as one FLOP, as in OpenMMLab's
model zoo).
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Parameters and FLOPs of a config's backbone.")
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs=2, default=(256, 128),
                        metavar=('H', 'W'), help='input size (256 128)')
    args = parser.parse_args(argv)
    if not osp.isfile(args.config):
        parser.error(f'config file not found: {args.config}')
    return args


def backbone_complexity(config: str, shape=(256, 128)) -> dict:
    """``{'params': int, 'flops': int}`` of the config's backbone."""
    from mmengine.analysis import get_model_complexity_info
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    from mmpretrain.registry import MODELS
    MMLogger.get_instance('get_flops', log_level='WARNING')
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    import projects.saip_dpal  # noqa: F401
    backbone = MODELS.build(cfg.model.backbone)
    backbone.eval()
    info = get_model_complexity_info(
        backbone, input_shape=(3, *shape), show_table=False,
        show_arch=False)
    return dict(params=int(info['params']), flops=int(info['flops']))


def main(argv=None):
    args = parse_args(argv)
    info = backbone_complexity(args.config, tuple(args.shape))
    print(f'{args.config}: backbone params {info["params"] / 1e6:.2f} M, '
          f'FLOPs {info["flops"] / 1e9:.2f} G at '
          f'{args.shape[0]}x{args.shape[1]}')


if __name__ == '__main__':
    main()
