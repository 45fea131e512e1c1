"""One pretraining run on the synthetic data, printed as a person reads it:
the loop behind ``make demo`` and ``tools/analysis_tools/hvp_study.py``.

The Runner logs to its file only; the console gets one progress line per
run (iterations, loss, ETA) and the log file's path.
"""
import os.path as osp
import sys
import time
from typing import Callable, Dict, List, Optional

import numpy as np
from mmengine.hooks import Hook


class ProgressLine(Hook):
    """One console line per run: iterations, ETA and loss, rewritten in
    place on a terminal (elsewhere printed at each quarter)."""
    priority = 'VERY_LOW'

    def __init__(self, title: str, prefix: str = '[demo]'):
        self.title, self.prefix = title, prefix
        self.tty = sys.stdout.isatty()

    def before_train(self, runner) -> None:
        self.start, self.shown = time.time(), 0

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        done, total = runner.iter + 1, runner.max_iters
        quarter = 4 * done // total
        if not self.tty and quarter == self.shown:
            return
        self.shown = quarter
        eta = (time.time() - self.start) / done * (total - done)
        loss = (outputs or {}).get('loss')  # the step's total
        loss = '' if loss is None else f', loss {float(loss.detach()):.3f}'
        line = (f'{self.prefix} {self.title}: {done}/{total} iterations'
                f'{loss}, eta {eta:.0f} s')
        end = '\n' if done == total or not self.tty else ''
        print(('\r' if self.tty else '') + line, end=end, flush=True)


def pretraining_config(config: str, data_root: str, work_dir: str,
                       seed: int = 0, max_epochs: Optional[int] = None,
                       cfg_options: Optional[Dict] = None):
    """A pretraining config on the synthetic data under ``data_root``
    (its crops and crowd canvases), in ``work_dir``, with ``seed``."""
    from mmengine.config import Config
    name = osp.splitext(osp.basename(config))[0]
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{name}_{time.strftime("%Y%m%d_%H%M%S")}_' \
                          f'{time.monotonic_ns()}'
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = data_root
    for t in dataset.pipeline:  # views drawing crowd canvases
        if 'canvas_root' in t:
            t.canvas_root = osp.join(data_root, 'canvas')
    cfg.randomness = dict(seed=seed)
    if max_epochs is not None:
        cfg.train_cfg.max_epochs = max_epochs
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def pretrain(cfg, title: str, prefix: str = '[demo]'):
    """Train ``cfg`` with a progress line; returns the runner, the last
    checkpoint and the seconds the training took."""
    from mmengine.registry import RUNNERS
    cfg.console_log_level = 'ERROR'  # the log file has the rest
    runner = RUNNERS.build(cfg)
    runner.register_hook(ProgressLine(title, prefix))
    start = time.time()
    runner.train()
    seconds = time.time() - start
    with open(osp.join(cfg.work_dir, 'last_checkpoint')) as f:
        return runner, f.read().strip(), seconds


def log_file(runner) -> str:
    """The run's log file."""
    return osp.join(runner.log_dir, f'{runner.timestamp}.log')


def loss_history(runner) -> Dict[str, List[float]]:
    """Every ``train/loss*`` scalar of the run, one value per iteration."""
    scalars = runner.message_hub.log_scalars
    return {
        key[len('train/'):]: [float(v) for v in scalars[key].data[0]]
        for key in sorted(scalars) if key.startswith('train/loss')
    }


def print_losses(history: Dict[str, List[float]],
                 log: Callable[[str], None] = print) -> None:
    """Each loss, the mean of its first and of its last 3 iterations."""
    for key, values in history.items():
        first, last = np.mean(values[:3]), np.mean(values[-3:])
        log(f'  {key:14s} {first:.4f} -> {last:.4f} (mean of first / '
            'last 3 iterations)')
