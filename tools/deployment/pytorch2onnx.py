"""Export an extracted backbone file to ONNX and check it with onnxruntime.

    python tools/deployment/pytorch2onnx.py BACKBONE OUT.onnx
        [--img-size H W] [--opset 17] [--dynamo] [--no-check]

``BACKBONE`` is a file of ``tools/model_converters/extract_backbone.py``
(ViT or Swin; it records its architecture). The graph takes ``images``
(B, 3, H, W) float32, RGB normalised with the ImageNet mean and std, and
returns ``cls`` (B, C) and ``patch`` (B, C, h, w); B is dynamic, H x W is
the recorded input size unless ``--img-size`` sets another (ViT). The check
runs onnxruntime on random inputs at batch 1 and 3 and prints the max
absolute difference from PyTorch. Runs from any directory.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export an extracted backbone file to ONNX.')
    parser.add_argument('backbone', help='file of extract_backbone.py')
    parser.add_argument('out', help='output .onnx file')
    parser.add_argument('--img-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size (defaults to the recorded one)')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--dynamo', action='store_true',
                        help="use torch's torch.export-based exporter "
                        '(opset >= 18) instead of the TorchScript one')
    parser.add_argument('--no-check', action='store_true',
                        help='skip the onnxruntime comparison')
    parser.add_argument('--tolerance', type=float, default=1e-3,
                        help='largest accepted max abs difference')
    return parser, parser.parse_args(argv)


def main(argv=None):
    parser, args = parse_args(argv)
    import projects.saip_dpal  # noqa: F401
    from projects.saip_dpal.apis import load_backbone
    from projects.saip_dpal.apis.onnx_export import (export_onnx,
                                                     onnx_max_difference)
    from projects.saip_dpal.utils import InputDataError, one_line
    try:
        model = load_backbone(args.backbone, args.img_size)
    except InputDataError as err:
        parser.exit(1, f'error: {one_line(err)}\n')
    export_onnx(model, args.out, args.opset, args.dynamo)
    arch = type(model.backbone).__name__
    h, w = model.input_size
    print(f'{arch} {h}x{w} -> {args.out} (opset '
          f'{max(args.opset, 18) if args.dynamo else args.opset}, dynamic '
          'batch; outputs cls, patch)')
    if args.no_check:
        return
    diff = onnx_max_difference(model, args.out)
    print('onnxruntime vs PyTorch, max abs difference at batch 1 and 3: ' +
          ', '.join(f'{k} {v:.2e}' for k, v in diff.items()))
    if max(diff.values()) > args.tolerance:
        parser.exit(1, f'error: {args.out} differs from PyTorch by more '
                    f'than {args.tolerance}\n')


if __name__ == '__main__':
    main()
