"""Convert a PATH (HumanBench) ViT checkpoint for mmpretrain's ViT.

Reads a released PATH-B / PATH-L backbone (``cls_token``,
``cls_token_pos_embed``, ``pos_embed``, ``patch_embed.proj.*``,
``blocks.N.*``) or a PATH training checkpoint (``state_dict`` with
``module.backbone_module.`` keys), weights-only, and writes
``{'state_dict': <mmpretrain VisionTransformer keys>, 'meta': {...}}``.
The keys are checked against the DPAL teacher config of the detected arch
(width 768 -> PATH-B, 1024 -> PATH-L); nothing is written unless they fit.
Runs from any directory.
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
        description='Convert a PATH ViT checkpoint into an mmpretrain '
        'VisionTransformer state dict (DPAL teacher PATH-B / PATH-L).')
    parser.add_argument('src', help='PATH checkpoint (.pth)')
    parser.add_argument('dst', help='output file (.pth)')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        default=(224, 224),
        metavar=('H', 'W'),
        help='input size of the teacher the keys are checked against; the '
        'stored positions stay on the 14x14 grid, which the teacher resizes '
        'to each input (default: 224 224, as the teacher configs)')
    return parser, parser.parse_args(argv)


def main(argv=None):
    parser, args = parse_args(argv)

    import torch

    from projects.saip_dpal.models.utils import teacher_checkpoints as tc
    from projects.saip_dpal.utils import InputDataError, one_line

    try:
        ckpt = tc.load_checkpoint_weights_only(args.src)
        state, report = tc.convert_path_state_dict(ckpt)
        arch = tc.detect_path_arch(state)
    except InputDataError as err:
        parser.exit(1, f'error: {one_line(err)}\n')
    width, depth = {v[0]: (k, v[1]) for k, v in tc.PATH_ARCHS.items()}[arch]
    model = tc.build_for_key_check(tc.path_vit_teacher(arch, args.img_size))
    found = tc.check_teacher_state_dict(model, state)

    print(f'{args.src}: PATH-{arch.upper()} (width {width}, {depth} '
          f'blocks) -> mmpretrain VisionTransformer arch {arch!r}')
    for line in tc.format_key_report(report, found, len(state)):
        print(line)
    if found['missing'] or found['unexpected'] or found['mismatched']:
        parser.exit(
            1, f'error: {args.src} does not convert into a PATH-'
            f'{arch.upper()} teacher ({len(found["missing"])} missing, '
            f'{len(found["unexpected"])} unexpected, '
            f'{len(found["mismatched"])} shape mismatch); nothing written\n')

    grid = state['pos_embed'].shape[1] - 1
    meta = dict(
        source='PATH',
        arch=arch,
        converted_from=osp.basename(args.src),
        converter='tools/model_converters/path2mmpretrain.py',
        pos_embed_grid=[int(grid**0.5)] * 2,
        teacher_config=tc.path_vit_teacher(arch, args.img_size))
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), args.dst)
    print(f'wrote {args.dst}')


if __name__ == '__main__':
    main()
