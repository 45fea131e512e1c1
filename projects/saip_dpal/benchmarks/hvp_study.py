"""The study behind ``tools/analysis_tools/hvp_study.py``: does each
method's pretraining beat random initialisation, by more than the seeds
differ?

The chain, on the synthetic data, every stage with the CPU recipes:

1. the teacher: SAIP pretrains a ViT-S (once, seed 0);
2. per seed: SAIP pretrains a ViT-Ti; DPAL distils the ViT-S teacher into
   a ViT-Ti; a ViT-Ti is initialised at random;
3. every backbone goes through the frozen probes of :mod:`.frozen_probes`
   (pose, parsing, ReID, attributes), with the probes' own floor (all-zero
   features) as a reference row.

Each finished stage is written to ``<work-dir>/study.json`` at once, so a
killed study resumes where it stopped.
"""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..utils.model_zoo import zoo_root
from .frozen_probes import (PROBES, load_probe_data, probe_model,
                            run_probes)
from .pretraining import loss_history, pretrain, pretraining_config

#: the stage -> its CPU recipe under configs/
STUDY_CONFIGS = OrderedDict(
    teacher='saip/saip_vit-small-p16_1xb8-cpu-6e_synthetic-lup.py',
    SAIP='saip/saip_vit-tiny-p16_1xb8-cpu-6e_synthetic-lup.py',
    DPAL='dpal/dpal_saip-vit-small_vit-tiny-p16_1xb16-cpu-6e_synthetic-lup.py')
#: the rows of the table, in order
BACKBONES = ('random', 'SAIP', 'DPAL')
#: (task, metric) -> its column title
TITLES = {(task, key): title for task, probe in PROBES.items()
          for key, title in probe.metrics}
FLOOR = 'no features'


def _save(state: Dict, path: str) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(state, f, indent=1)
    os.replace(tmp, path)  # a kill never leaves half a file


def _pretrain_backbone(stage: str, data_root: str, work_dir: str,
                       seed: int, log: Callable[[str], None],
                       max_epochs: Optional[int] = None,
                       teacher: Optional[str] = None) -> Dict:
    """Pretrain one stage's recipe and extract its student backbone."""
    from ..models.utils import export_backbone
    config = osp.join(zoo_root(), 'configs', STUDY_CONFIGS[stage])
    run_dir = osp.join(work_dir, f'{stage}_seed{seed}')
    cfg = pretraining_config(config, data_root, run_dir, seed, max_epochs)
    if teacher is not None:
        cfg.model.teacher_checkpoint = teacher
    runner, checkpoint, seconds = pretrain(
        cfg, f'{stage} seed {seed}', prefix='[study]')
    backbone = osp.join(run_dir, 'backbone.pth')
    export_backbone(checkpoint, backbone)
    log(f'[study] {stage} seed {seed}: {runner.iter} iterations in '
        f'{seconds:.0f} s -> {backbone}')
    return dict(backbone=backbone, seconds=seconds,
                losses=loss_history(runner))


def run_study(data_root: str,
              work_dir: str,
              seeds: Sequence[int] = (0, 1, 2),
              tasks: Sequence[str] = tuple(PROBES),
              log: Optional[Callable[[str], None]] = None,
              max_epochs: Optional[int] = None,
              reprobe: bool = False) -> Dict:
    """Run (or resume) the study; returns its state: ``probes[row][seed]
    [task][metric]`` (percent), ``runs[stage/seed]`` (backbone file,
    seconds, per-iteration losses). ``reprobe`` probes the backbones of a
    finished study again (after a change to the probes) without training
    them again."""
    log = log or (lambda line: print(line, flush=True))
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'study.json')
    state = dict(probes={}, runs={})
    if osp.isfile(path):
        with open(path) as f:
            state = json.load(f)
        log(f'[study] resuming {path}')
        if reprobe:
            state['probes'] = {}
    data = load_probe_data(data_root, tasks)

    def probe(row: str, seed: int, backbone: Optional[str]) -> None:
        done = state['probes'].setdefault(row, {})
        if str(seed) in done:
            return
        out = run_probes(probe_model(backbone, seed), data, seed)
        done[str(seed)] = out
        _save(state, path)
        log(f'[study] {row} seed {seed}: ' + ', '.join(
            f'{title} {out[task][key]:.2f}' for task in out
            for key, title in PROBES[task].metrics))

    def run(stage: str, seed: int, **kwargs) -> str:
        key = f'{stage}/{seed}'
        if key not in state['runs'] or not osp.isfile(
                state['runs'][key]['backbone']):
            state['runs'][key] = _pretrain_backbone(
                stage, data_root, work_dir, seed, log, max_epochs, **kwargs)
            _save(state, path)
        return state['runs'][key]['backbone']

    probe(FLOOR, 0, 'prior')
    teacher = run('teacher', 0)
    for seed in seeds:
        probe('random', seed, None)
        probe('SAIP', seed, run('SAIP', seed))
        probe('DPAL', seed, run('DPAL', seed, teacher=teacher))
    return state


def summarise(state: Mapping) -> Dict[str, Dict[str, tuple]]:
    """``{row: {(task, metric): (mean, std, n)}}`` over the seeds (std:
    the sample standard deviation, 0 for one seed)."""
    out = OrderedDict()
    for row in (FLOOR, ) + BACKBONES:
        seeds = state['probes'].get(row)
        if not seeds:
            continue
        runs = list(seeds.values())
        out[row] = OrderedDict()
        for task in runs[0]:
            for key, _ in PROBES[task].metrics:
                values = np.array([r[task][key] for r in runs])
                out[row][task, key] = (
                    float(values.mean()),
                    float(values.std(ddof=1)) if len(values) > 1 else 0.,
                    len(values))
    return out


def format_study_table(state: Mapping) -> str:
    """Markdown: one row per backbone, mean +/- std per metric."""
    summary = summarise(state)
    columns = list(next(iter(summary.values())))
    lines = ['| backbone | seeds | ' +
             ' | '.join(TITLES[c] for c in columns) + ' |',
             '|---|---:|' + '---:|' * len(columns)]
    for row, cells in summary.items():
        n = next(iter(cells.values()))[2]
        shown = [f'{m:.2f}' if row == FLOOR else f'{m:.2f} ± {s:.2f}'
                 for m, s, _ in cells.values()]
        lines.append(f'| {row} | {n} | ' + ' | '.join(shown) + ' |')
    return '\n'.join(lines)


def verdicts(state: Mapping) -> List[str]:
    """Per method and metric: ahead of random by more than the larger of
    the two seed spreads (std), or not."""
    summary = summarise(state)
    base = summary.get('random')
    lines = []
    for row in ('SAIP', 'DPAL'):
        if row not in summary or base is None:
            continue
        for column, (mean, std, n) in summary[row].items():
            ref, ref_std, n_ref = base[column]
            if min(n, n_ref) < 2:
                lines.append(f'{row} {column[0]} {column[1]}: '
                             f'{mean - ref:+.2f} vs random (one seed: no '
                             'spread to compare with)')
                continue
            margin = max(std, ref_std)
            gap = mean - ref
            word = 'ahead of' if gap > margin else (
                'behind' if gap < -margin else 'within the spread of')
            lines.append(f'{row} {column[0]} {column[1]}: {gap:+.2f} vs '
                         f'random (spread {margin:.2f}): {word} random')
    return lines


def _smooth(values: Sequence[float], window: int = 20) -> np.ndarray:
    v = np.asarray(values, float)
    if len(v) < window:
        return v
    return np.convolve(v, np.ones(window) / window, mode='valid')


def plot_study(state: Mapping, out: str) -> str:
    """A PNG: the probes' means with seed std bars (the floor dashed) on
    top, each pretraining's total loss per iteration below."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    summary = summarise(state)
    columns = list(next(iter(summary.values())))
    stages = sorted({k.split('/')[0] for k in state['runs']},
                    key=list(STUDY_CONFIGS).index)
    width = max(len(columns), len(stages))
    fig, axes = plt.subplots(2, width, figsize=(3.2 * width, 6.4),
                             squeeze=False)
    colours = dict(random='tab:gray', SAIP='tab:blue', DPAL='tab:orange')
    for ax, column in zip(axes[0], columns):
        rows = [r for r in BACKBONES if r in summary]
        means = [summary[r][column][0] for r in rows]
        stds = [summary[r][column][1] for r in rows]
        ax.bar(rows, means, yerr=stds, capsize=4,
               color=[colours[r] for r in rows])
        if FLOOR in summary:
            ax.axhline(summary[FLOOR][column][0], ls='--', c='k', lw=1,
                       label=FLOOR)
            ax.legend(fontsize=7, loc='lower right')
        ax.set_title(TITLES[column] + ' (%)', fontsize=9)
    for ax, stage in zip(axes[1], stages):
        for key, run in state['runs'].items():
            if key.split('/')[0] == stage and run['losses'].get('loss'):
                ax.plot(_smooth(run['losses']['loss']),
                        label=f'seed {key.split("/")[1]}', lw=1)
        ax.set_title(f'{stage} pretraining loss', fontsize=9)
        ax.set_xlabel('iteration', fontsize=8)
        ax.legend(fontsize=7)
    for ax in list(axes[0][len(columns):]) + list(axes[1][len(stages):]):
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
