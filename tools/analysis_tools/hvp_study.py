"""Does pretraining help? Random init, SAIP and DPAL over several seeds.

    python tools/analysis_tools/hvp_study.py \
        [--data data/synthetic_x4] [--scale 4] [--seeds 0 1 2] \
        [--tasks pose parsing reid attribute] \
        [--work-dir work_dirs/hvp_study] [--max-epochs N]

Writes the synthetic data at ``--scale`` when ``--data`` has none, pretrains
the ViT-S teacher (SAIP, once), then per seed a SAIP ViT-Ti and a DPAL ViT-Ti
(from that teacher), with the CPU recipes
(``configs/{saip,dpal}/*cpu*``), and runs the frozen probes on each and on
a random ViT-Ti. Prints the table (mean +/- std over the seeds), one line
per method and metric saying whether it is ahead of random by more than the
seed spread, and writes ``study.json``, ``study.md`` and ``study.png``
(probes and loss curves) to the work dir. A killed study resumes from
``study.json``; ``--reprobe`` probes its backbones again.
"""
import argparse
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    from projects.saip_dpal.benchmarks.frozen_probes import PROBES
    parser = argparse.ArgumentParser(
        description='Pretrain SAIP and DPAL and compare them with random '
        'initialisation on frozen-feature probes, over several seeds.')
    parser.add_argument('--data',
                        default=osp.join(ROOT, 'data', 'synthetic_x4'))
    parser.add_argument('--scale', type=float, default=4.0,
                        help='size of the synthetic data written when '
                        '--data has none')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--tasks', nargs='+', default=list(PROBES),
                        choices=list(PROBES))
    parser.add_argument('--work-dir',
                        default=osp.join(ROOT, 'work_dirs', 'hvp_study'))
    parser.add_argument('--max-epochs', type=int, default=None,
                        help="override the recipes' epochs (quick checks)")
    parser.add_argument('--reprobe', action='store_true',
                        help="probe a finished study's backbones again, "
                        'without pretraining them again')
    return parser.parse_args(argv)


def main(argv=None):
    import projects.saip_dpal  # noqa: F401  (registers the modules)
    from projects.saip_dpal.benchmarks.hvp_study import (format_study_table,
                                                         plot_study,
                                                         run_study, verdicts)
    from projects.saip_dpal.datasets.synthetic import (
        format_summary, generate_synthetic_humans)
    from projects.saip_dpal.utils import InputDataError, one_line
    args = parse_args(argv)
    start = time.time()
    if not osp.isdir(osp.join(args.data, 'LUPerson')):
        summary = generate_synthetic_humans(args.data, seed=0,
                                            scale=args.scale)
        print('[study] ' + format_summary(summary))
    try:
        state = run_study(args.data, args.work_dir, args.seeds, args.tasks,
                          max_epochs=args.max_epochs, reprobe=args.reprobe)
    except InputDataError as err:
        sys.exit(f'error: {one_line(err)}')
    table = format_study_table(state)
    lines = verdicts(state)
    with open(osp.join(args.work_dir, 'study.md'), 'w') as f:
        f.write(table + '\n\n' + '\n'.join(f'- {v}' for v in lines) + '\n')
    print(f'[study] frozen probes, percent, mean ± std over seeds '
          f'{args.seeds} ({(time.time() - start) / 60:.0f} min):')
    print(table)
    for line in lines:
        print('[study] ' + line)
    print('[study] plot -> ' +
          plot_study(state, osp.join(args.work_dir, 'study.png')))
    return state


if __name__ == '__main__':
    main()
