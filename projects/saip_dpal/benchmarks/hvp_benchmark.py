"""Downstream human-visual-perception (HVP) fine-tunes of extracted
backbones, side by side: the loop behind ``make demo`` and
``tools/analysis_tools/hvp_benchmark.py``.

Each task is one of the shipped synthetic-data configs (pose: mmpose,
parsing: mmseg, ReID / attributes: mmpretrain) run by its own mmengine
``Runner``. A backbone file written by ``extract_backbone.py`` carries its
architecture (``meta['backbone']``), which replaces the task config's, so a
SAIP ViT-Ti (3 heads) and a DPAL ViT-Ti (6 heads, 12 in the last block) are
each fine-tuned as what they are. ``None`` fine-tunes the task config's own
backbone from random initialisation.
"""
import io
import os.path as osp
import time
from collections import OrderedDict
from contextlib import nullcontext, redirect_stdout
from dataclasses import dataclass
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple

from ..models.utils.backbone_extraction import unscoped_type
from ..utils.errors import InputDataError
from ..utils.untrusted_files import read_backbone_file, recorded_backbone_cfg
from ..utils.model_zoo import zoo_root
from ..utils.runner_cli import merge_moving_data_roots


@dataclass(frozen=True)
class HVPTask:
    """A downstream fine-tune on the synthetic data.

    Args:
        config: config path under ``configs/``.
        data: its dataset folder under the synthetic data root.
        metrics: (metric key, column title, factor to percent) per column.
    """
    config: str
    data: str
    metrics: Tuple[Tuple[str, str, float], ...]


HVP_TASKS: Dict[str, HVPTask] = OrderedDict(
    pose=HVPTask('pose/td-hm_dpal-vit-tiny_1xb16-2e_synthetic-coco-256x192.py',
                 'coco', (('coco/AP', 'pose AP', 100.), )),
    parsing=HVPTask(
        'parsing/uper_dpal-vit-tiny_1xb8-2e_synthetic-lip-256x128.py', 'LIP',
        (('mIoU', 'parsing mIoU', 1.), )),
    reid=HVPTask(
        'reid/reid_dpal-vit-tiny_1xb16-2e_synthetic-market1501-256x128.py',
        'Market-1501',
        (('reid/mAP', 'ReID mAP', 1.), ('reid/rank1', 'ReID R1', 1.))),
    attribute=HVPTask(
        'attribute/par_dpal-vit-tiny_1xb16-2e_synthetic-pa100k-256x128.py',
        'PA-100K', (('attribute/mA', 'attr mA', 1.), )))


def check_backbone_fits(backbone: Mapping, state: Mapping,
                        where: str) -> None:
    """Raise one line when ``state`` does not load into ``backbone``
    (missing / unexpected keys, other widths). The position embedding may
    differ in length (it is resized on load)."""
    from mmpretrain.registry import MODELS
    cfg = dict(backbone, type=unscoped_type(backbone), init_cfg=None)
    model_state = MODELS.build(cfg).state_dict()
    missing = sorted(set(model_state) - set(state))
    unexpected = sorted(set(state) - set(model_state))
    wrong = [
        f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
        for k, v in model_state.items() if k in state and k != 'pos_embed'
        and tuple(state[k].shape) != tuple(v.shape)
    ]
    if 'pos_embed' in state and 'pos_embed' in model_state and \
            state['pos_embed'].shape[-1] != model_state['pos_embed'].shape[-1]:
        wrong.append('pos_embed width')
    if missing or unexpected or wrong:
        parts = [(f'{len(x)} {what} (e.g. {x[0]})')
                 for x, what in ((missing, 'missing keys'),
                                 (unexpected, 'unexpected keys'),
                                 (wrong, 'shape mismatches')) if x]
        raise InputDataError(f'{where} does not fit the backbone '
                             f'{cfg["type"]} {cfg.get("arch")}: ' +
                             '; '.join(parts))


def use_backbone(cfg, path: Optional[str], task: str = 'task') -> None:
    """Point ``cfg.model.backbone`` at the extracted file ``path`` or, for
    ``None``, at a random initialisation. The file's weights must fit the
    config's backbone (one line if not); its recorded architecture then
    replaces the config's, which sets the attention head counts."""
    backbone = cfg.model.backbone
    if path is None:
        backbone.init_cfg = None
        return
    state, arch = read_backbone_file(path)
    if arch is not None:  # it goes into the config that the Runner builds
        arch = recorded_backbone_cfg(arch, f'backbone file {path}')
    if arch is not None and unscoped_type(arch) != unscoped_type(backbone):
        raise InputDataError(
            f'{path} holds a {unscoped_type(arch)}; the {task} config '
            f'expects a {unscoped_type(backbone)}')
    # the weights' shapes must be the config's (its heads and necks are
    # built for that width and depth); head counts do not show in shapes
    check_backbone_fits(backbone, state, f'{path} ({task})')
    if arch is not None:
        backbone.pop('layer_cfgs', None)  # per-block heads of the old arch
        backbone.update({k: v for k, v in arch.items() if k != 'type'})
    backbone.init_cfg = dict(type='StrictPretrained', checkpoint=path)


def _fit_schedule(cfg, epochs: int) -> None:
    """Stretch the task's epoch schedule to ``epochs``: ends at the old
    last epoch move to the new one, milestones keep their fraction."""
    old = cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = epochs
    for scheduler in cfg.get('param_scheduler') or []:
        if scheduler.get('by_epoch', True):
            for key in ('end', 'T_max'):
                if scheduler.get(key) == old:
                    scheduler[key] = epochs
            if 'milestones' in scheduler:
                scheduler.milestones = [
                    max(1, round(m * epochs / old))
                    for m in scheduler.milestones
                ]


def finetune_config(task: str,
                    backbone: Optional[str],
                    data_root: str,
                    work_dir: str,
                    seed: int = 0,
                    epochs: Optional[int] = None,
                    verbose: bool = False,
                    options: Optional[dict] = None):
    """The task's synthetic config on ``data_root``, fine-tuning
    ``backbone`` (an extracted file or None), validated once at the end;
    ``options`` (``--cfg-options`` style) are merged last."""
    from mmengine.config import Config
    spec = HVP_TASKS[task]
    root = osp.join(osp.abspath(data_root), spec.data) + '/'
    if not osp.isdir(root):
        raise InputDataError(f'{task} data not found: {root} (write it with '
                             'tools/dataset_converters/'
                             'generate_synthetic_humans.py or `make data`)')
    cfg = Config.fromfile(osp.join(zoo_root(), 'configs', spec.config))
    # the evaluators' ann_file moves with the loaders' data_root
    merge_moving_data_roots(cfg, {
        f'{split}_dataloader.dataset.data_root': root
        for split in ('train', 'val', 'test')
    })
    use_backbone(cfg, backbone, task)
    if task == 'reid':  # the classifier's classes: the data's identities
        from ..datasets import Market1501Dataset
        cfg.model.head.num_classes = Market1501Dataset(root).num_ids
    if epochs is not None:
        _fit_schedule(cfg, epochs)
    max_epochs = cfg.train_cfg.max_epochs
    cfg.train_cfg.val_interval = max_epochs
    cfg.default_hooks.checkpoint.update(interval=max_epochs, max_keep_ckpts=1)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    # a fresh name per run: the scope, logger and visualizer are singletons
    # keyed by it, and one process runs mmpose, mmseg and mmpretrain here
    cfg.experiment_name = f'{task}_{time.strftime("%Y%m%d_%H%M%S")}_' \
                          f'{time.monotonic_ns()}'
    cfg.visualizer.name = cfg.experiment_name
    cfg.log_level = 'INFO' if verbose else 'WARNING'
    if options:
        cfg.merge_from_dict(options)
    return cfg


def finetune(task: str, backbone: Optional[str], data_root: str,
             work_dir: str, **kwargs) -> Dict[str, float]:
    """Fine-tune and validate; returns the task's metrics in percent plus
    ``seconds`` and ``iters``."""
    from mmengine.registry import DefaultScope
    from mmengine.registry import RUNNERS
    cfg = finetune_config(task, backbone, data_root, work_dir, **kwargs)
    scopes = set(DefaultScope._instance_dict)
    # pycocotools prints its whole summary; keep it for --verbose
    quiet = nullcontext() if cfg.log_level == 'INFO' else redirect_stdout(
        io.StringIO())
    try:
        runner = RUNNERS.build(cfg)
        start = time.time()
        with quiet:
            runner.train()
        out = {
            key: runner.message_hub.get_scalar(f'val/{key}').current() *
            factor
            for key, _, factor in HVP_TASKS[task].metrics
        }
        out.update(seconds=time.time() - start, iters=runner.iter)
    finally:  # leave the caller's default scope as it was
        for name in set(DefaultScope._instance_dict) - scopes:
            DefaultScope._instance_dict.pop(name, None)
    return out


def run_hvp_benchmark(backbones: Mapping[str, Optional[str]],
                      tasks: Sequence[str],
                      data_root: str,
                      work_dir: str,
                      log: Callable[[str], None] = print,
                      **kwargs) -> Dict[str, Dict[str, Dict[str, float]]]:
    """Fine-tune every backbone on every task with the same seed (same data
    order and head initialisation); ``results[backbone][task]``."""
    unknown = [t for t in tasks if t not in HVP_TASKS]
    if unknown:
        raise InputDataError(f'unknown task(s) {unknown}; '
                             f'choose from {list(HVP_TASKS)}')
    for name, path in backbones.items():  # fail before any training
        if path is not None:
            read_backbone_file(path)
    results: Dict[str, Dict[str, Dict[str, float]]] = OrderedDict()
    for name, path in backbones.items():
        results[name] = OrderedDict()
        for task in tasks:
            out = finetune(task, path, data_root,
                           osp.join(work_dir, name, task), **kwargs)
            results[name][task] = out
            shown = ', '.join(f'{title} {out[key]:.2f}'
                              for key, title, _ in HVP_TASKS[task].metrics)
            log(f'[hvp] {name:>8s} {task:9s} {out["iters"]} iterations in '
                f'{out["seconds"]:.0f} s: {shown}')
    return results


def format_hvp_table(results: Mapping[str, Mapping[str, Mapping]]) -> str:
    """A markdown table: one row per backbone, one column per metric."""
    tasks = list(next(iter(results.values())))
    columns = [(task, key, title) for task in tasks
               for key, title, _ in HVP_TASKS[task].metrics]
    lines = ['| backbone | ' + ' | '.join(c[2] for c in columns) + ' |',
             '|---|' + '---:|' * len(columns)]
    for name, row in results.items():
        lines.append(f'| {name} | ' + ' | '.join(
            f'{row[task][key]:.2f}' for task, key, _ in columns) + ' |')
    return '\n'.join(lines)
