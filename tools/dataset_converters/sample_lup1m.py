"""Sample a reproducible LUP1M key list from LUPerson.

    python tools/dataset_converters/sample_lup1m.py SOURCE OUT.txt
        [--num 1000000] [--seed 0]

``SOURCE`` is the LUPerson LMDB folder (its keys are read, its values are
not) or a text key file. Draws ``--num`` keys without replacement with a
seeded generator over the sorted keys, writes them sorted, one a line,
under a header with the seed, the source and the sha256 of the key lines
(``LUPersonLMDBDataset`` checks it when it reads the file), and prints the
hash. The same source and seed give the same file. Runs from any directory.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Sample a reproducible LUP1M key list from LUPerson.')
    parser.add_argument('source', help='LUPerson LMDB folder or key file')
    parser.add_argument('out', help='output key file (.txt)')
    parser.add_argument('--num', type=int, default=1_000_000,
                        help='keys to draw (default 1000000)')
    parser.add_argument('--seed', type=int, default=0)
    return parser, parser.parse_args(argv)


def main(argv=None):
    parser, args = parse_args(argv)
    import numpy as np

    from projects.saip_dpal.datasets.lup_person_lmdb import (
        keys_sha256, lmdb_keys, read_key_file, write_key_file)
    from projects.saip_dpal.utils import InputDataError, one_line
    try:
        keys = sorted(lmdb_keys(args.source) if osp.isdir(args.source)
                      else read_key_file(args.source))
    except InputDataError as err:
        parser.exit(1, f'error: {one_line(err)}\n')
    if not 0 < args.num <= len(keys):
        parser.exit(1, f'error: --num {args.num}: the source has '
                    f'{len(keys)} keys\n')
    rng = np.random.default_rng(args.seed)
    chosen = sorted(keys[i] for i in rng.choice(len(keys), args.num,
                                                replace=False))
    digest = write_key_file(
        args.out, chosen,
        note=f'{args.num} of the {len(keys)} keys of '
        f'{osp.basename(osp.normpath(args.source))} (sha256 '
        f'{keys_sha256(keys)[:16]}...), numpy default_rng seed {args.seed}')
    print(f'{args.num} of {len(keys)} keys -> {args.out}')
    print(f'sha256 of the key lines: {digest}')


if __name__ == '__main__':
    main()
