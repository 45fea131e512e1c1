"""Convert a SOLIDER Swin-B checkpoint for ``SOLIDERSwinTransformer``.

Reads a SOLIDER checkpoint (``{'teacher': {'backbone.<key>'}, 'student':
{'module.backbone.<key>'}}`` as SOLIDER saves it, or a bare backbone state
dict), weights-only, and writes ``{'state_dict': <keys>, 'meta': {...}}``
for the DPAL SOLIDER-B teacher config. SOLIDER's mmdet-style Swin keys are
mmpretrain's already; the DINO heads and the output norms of stages the
teacher does not output are dropped. Nothing is written unless the keys
fit. Runs from any directory.
"""
import argparse
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a SOLIDER Swin checkpoint into a '
        'SOLIDERSwinTransformer state dict (DPAL teacher SOLIDER-B).')
    parser.add_argument('src', help='SOLIDER checkpoint (.pth)')
    parser.add_argument('dst', help='output file (.pth)')
    parser.add_argument(
        '--which',
        choices=['teacher', 'student'],
        default='teacher',
        help='which weights of a training checkpoint to take (default: '
        'teacher, the ones SOLIDER releases)')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        default=(256, 128),
        metavar=('H', 'W'),
        help='input size of the teacher config (default: 256 128)')
    return parser, parser.parse_args(argv)


def main(argv=None):
    parser, args = parse_args(argv)

    import torch

    import projects.saip_dpal  # noqa: F401  (registers the backbone)
    from projects.saip_dpal.models.utils import teacher_checkpoints as tc
    from projects.saip_dpal.utils import InputDataError, one_line

    cfg = tc.solider_swin_teacher(img_size=args.img_size)
    try:
        ckpt = tc.load_checkpoint_weights_only(args.src)
        state, report = tc.convert_solider_state_dict(
            ckpt, which=args.which, out_indices=cfg['out_indices'])
    except InputDataError as err:
        parser.exit(1, f'error: {one_line(err)}\n')
    model = tc.build_for_key_check(cfg)
    found = tc.check_teacher_state_dict(model, state)

    print(f'{args.src} ({args.which}) -> SOLIDERSwinTransformer '
          f"arch {cfg['arch']!r}")
    for line in tc.format_key_report(report, found, len(state)):
        print(line)
    if found['missing'] or found['unexpected'] or found['mismatched']:
        parser.exit(
            1, f'error: {args.src} does not convert into a SOLIDER-B '
            f'teacher ({len(found["missing"])} missing, '
            f'{len(found["unexpected"])} unexpected, '
            f'{len(found["mismatched"])} shape mismatch); nothing written\n')

    meta = dict(
        source='SOLIDER',
        which=args.which,
        converted_from=osp.basename(args.src),
        converter='tools/model_converters/solider2mmpretrain.py',
        teacher_config=cfg)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), args.dst)
    print(f'wrote {args.dst}')


if __name__ == '__main__':
    main()
