"""Extract the backbone of a DPAL / SAIP pretraining checkpoint.

    python tools/model_converters/extract_backbone.py CKPT OUT [--momentum]
        [--img-size H W]

Writes ``{'state_dict': {'backbone.<key>': ...}, 'meta': {...}}``, the
layout of an mmpretrain model without its head, so it loads as any
mmpretrain checkpoint does: ``load_from``, ``mmpretrain.get_model(NAME,
pretrained=OUT)``, and in mmpose / mmseg backbone configs
``init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.')``
(stock) or ``dict(type='StrictPretrained', checkpoint=OUT)`` (ours: every
weight or one line). Takes the student
(``backbone.``) or, with ``--momentum`` (alias ``--ema``), its EMA copy,
the momentum encoder's backbone (older checkpoints: DPAL's
``ema_backbone``, SAIP's ``teacher``); drops algorithm-only parts (teacher,
decoders, heads) and pretraining-only layers (SAIP's ``inter_norm``);
prints what it kept. Also reads the authors' released layout
``{'student': ..., 'teacher': ...}`` (``--momentum`` takes their EMA
``teacher``), stripping ``module.`` / ``backbone.``. The
checkpoint is read weights-only. Runs from any directory.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract the student (or EMA) backbone of a DPAL / SAIP '
        'checkpoint as an mmpretrain backbone state dict.')
    parser.add_argument('src', help='pretraining checkpoint (.pth)')
    parser.add_argument('dst', help='output file (.pth)')
    parser.add_argument('--momentum', '--ema', dest='ema',
                        action='store_true',
                        help='take the momentum encoder (the EMA copy) '
                        'instead of the student')
    parser.add_argument('--img-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='resize the ViT position embedding to this '
                        'input size (e.g. 256 192 for mmpose configs), for '
                        'loaders that cannot resize a non-square grid')
    parser.add_argument('--keep-pretrain-only', action='store_true',
                        help="keep pretraining-only layers (SAIP's "
                        'inter_norm); plain backbones do not have them')
    return parser, parser.parse_args(argv)


def main(argv=None):
    parser, args = parse_args(argv)
    from projects.saip_dpal.models.utils import export_backbone
    from projects.saip_dpal.utils import InputDataError, one_line
    try:
        report = export_backbone(args.src, args.dst, ema=args.ema,
                                 keep_pretrain_only=args.keep_pretrain_only,
                                 img_size=args.img_size)
    except InputDataError as err:
        parser.exit(1, f'error: {one_line(err)}\n')
    print(f'{args.src}: kept {report["kept"]} tensors from '
          f'{report["source"]!r}')
    if report['dropped']:
        print('dropped: ' + ', '.join(
            f'{k} ({n})' for k, n in sorted(report['dropped'].items())))
    if report['pretrain_only']:
        print('dropped pretraining-only: ' +
              ', '.join(report['pretrain_only']))
    arch = report['meta']['backbone']
    print('architecture: ' + (f'{arch["type"]} {arch.get("arch")}' if arch
                              else 'not recorded (no training config in '
                              'the checkpoint)'))
    if args.img_size:
        print(f'position embedding for {args.img_size[0]}x'
              f'{args.img_size[1]} inputs')
    print(f'wrote {args.dst}')


if __name__ == '__main__':
    main()
