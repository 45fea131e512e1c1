"""Prepare a checkpoint for release (OpenMMLab convention).

    python tools/model_converters/publish_model.py IN OUT

Keeps ``state_dict`` and ``meta`` (drops the optimizer, the schedulers, the
message hub and the rest), saves, and renames the file to
``OUT-<first 8 hex of its sha256>.pth``. Reads weights-only. The config text
it passes on (``meta['cfg']``) is plain values or the file is refused, and
the legacy ``meta['config']`` is dropped: what it writes carries no code to
a stock inferencer.
"""
import argparse
import hashlib
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

KEEP = ('state_dict', 'meta')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Strip a checkpoint to its weights and meta and add the '
        'sha256 prefix to its name.')
    parser.add_argument('src', help='checkpoint (.pth)')
    parser.add_argument('dst', help='output name (.pth; the hash is added)')
    return parser, parser.parse_args(argv)


def main(argv=None):
    parser, args = parse_args(argv)
    import torch

    from projects.saip_dpal.utils import (InputDataError,
                                          check_config_texts, one_line,
                                          read_checkpoint)
    try:
        ckpt = read_checkpoint(args.src, what='checkpoint')
        # a published file carries its meta on: refuse config text that
        # is not plain values
        check_config_texts(ckpt, osp.basename(args.src))
    except InputDataError as err:
        parser.exit(1, f'error: {one_line(err)}\n')
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        parser.exit(1, f'error: {args.src} has no state_dict\n')
    dropped = sorted(k for k in ckpt if k not in KEEP)
    out = {k: ckpt[k] for k in KEEP if k in ckpt}
    if isinstance(out.get('meta'), dict):
        out['meta'] = {k: v for k, v in out['meta'].items() if k != 'config'}
    stem = args.dst[:-4] if args.dst.endswith('.pth') else args.dst
    os.makedirs(osp.dirname(osp.abspath(stem)), exist_ok=True)
    tmp = stem + '.tmp.pth'
    torch.save(out, tmp)
    with open(tmp, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    final = f'{stem}-{digest[:8]}.pth'
    os.replace(tmp, final)
    print(f'dropped: {", ".join(dropped) or "nothing"}')
    print(f'wrote {final}')


if __name__ == '__main__':
    main()
