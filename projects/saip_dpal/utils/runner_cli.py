"""Command-line handling shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import difflib
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, DictAction

from .errors import InputDataError


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments both tools take, with mmpretrain's meaning."""
    parser.add_argument(
        '--work-dir', help='directory for logs and checkpoints')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'train_dataloader.batch_size=8 or "model.backbone.arch=small"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in the dataloaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable persistent_workers in the dataloaders')
    # torch.distributed.run passes --local-rank; older launchers --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


#: the method folders the pretraining configs moved into from ``configs/``
METHOD_CONFIG_DIRS = ('dpal', 'saip', 'mae')


#: short names that were renamed -> their names now (in ``configs/``)
RENAMED_ALIASES = {
    'dpal_solider_swin-tiny.py': 'dpal_soliderb_swin-tiny.py',
    'dpal_solider_swin-small.py': 'dpal_soliderb_swin-small.py',
}


def moved_config(path: str) -> Optional[str]:
    """Where a config that ``configs/NAME.py`` named before lives now: a
    renamed short name's new one, or a pretraining config that moved into
    ``configs/METHOD/NAME.py`` (METHOD the name's first word); None if it
    did not move."""
    folder, name = osp.split(path)
    method = name.split('_', 1)[0]
    if osp.basename(osp.abspath(folder)) != 'configs' or \
            method not in METHOD_CONFIG_DIRS:
        return None
    moved = osp.join(folder, RENAMED_ALIASES[name]) \
        if name in RENAMED_ALIASES else osp.join(folder, method, name)
    return moved if osp.isfile(moved) else None


def config_path(parser: argparse.ArgumentParser, path: str) -> str:
    """``path``, or where its pretraining config moved (with a note); stops
    with one line naming the file when there is neither."""
    if osp.isfile(path):
        return path
    moved = moved_config(path)
    if moved is None:
        parser.error(f'config file not found: {path}')
    print(f'{path} is now {moved}', flush=True)
    return moved


def load_config(parser: argparse.ArgumentParser, path: str) -> Config:
    """Load a config (an old flat path of a pretraining config too) or stop
    with one line naming the missing file."""
    return Config.fromfile(config_path(parser, path))


_SPLITS = (('train_dataloader', None), ('val_dataloader', 'val_evaluator'),
           ('test_dataloader', 'test_evaluator'))


def _loader_root(cfg: Config, loader: str):
    return ((cfg.get(loader) or {}).get('dataset') or {}).get('data_root')


def _moved(node, old: str, new: str):
    """``node`` with every string that starts with ``old`` re-rooted."""
    if isinstance(node, str):
        return new + node[len(old):] if node.startswith(old) else node
    if isinstance(node, dict):
        for key, value in node.items():
            node[key] = _moved(value, old, new)
    elif isinstance(node, list):
        node[:] = [_moved(value, old, new) for value in node]
    return node


def _root_moved(old, new) -> bool:
    return isinstance(old, str) and isinstance(new, str) and bool(old) \
        and old != new


def merge_moving_data_roots(cfg: Config, options: dict) -> None:
    """``cfg.merge_from_dict(options)``, and paths built from a data root
    follow it when the options move it.

    Python configs join ``data_root + '...'`` when they are read, so an
    override of the root alone leaves e.g. ``val_evaluator.ann_file`` and
    ``canvas_root`` behind. ``data_root=NEW`` re-roots every path under the
    old top-level root; ``val_dataloader.dataset.data_root=NEW`` re-roots
    that loader's evaluator (``ann_file``).
    """
    old_top = cfg.get('data_root')
    old_loaders = {loader: _loader_root(cfg, loader) for loader, _ in _SPLITS}
    cfg.merge_from_dict(options)
    new_top = cfg.get('data_root')
    if _root_moved(old_top, new_top):
        for key in list(cfg.keys()):
            if key != 'data_root':
                cfg[key] = _moved(cfg[key], old_top, new_top)
        return
    for loader, evaluator in _SPLITS:
        old, new = old_loaders[loader], _loader_root(cfg, loader)
        if evaluator and cfg.get(evaluator) and _root_moved(old, new):
            cfg[evaluator] = _moved(cfg[evaluator], old, new)


def misspelt_option(cfg: Config, key: str) -> Optional[str]:
    """Where an option's dotted ``key`` leaves the config at a name with a
    close sibling (``model.bakbone`` beside ``model.backbone``): the line
    that says so; None for a key that exists or is new (a new key is
    allowed: it may be one a module reads, e.g. ``resume_at_epoch_start``).
    """
    node, path = dict(cfg.items()), []
    for part in key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit():
            node, path = (node[int(part)] if int(part) < len(node) else
                          None), path + [part]
            continue
        if not isinstance(node, dict):
            return None
        if part not in node:
            close = difflib.get_close_matches(
                part, [k for k in node if isinstance(k, str)], n=1,
                cutoff=0.75)
            if not close:
                return None
            where = '.'.join(path + [part])
            fix = '.'.join(path + close)
            return f'the config has no {where}; did you mean {fix}?'
        node, path = node[part], path + [part]
    return None


def merge_common_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply launcher, work_dir, dataloader flags and ``--cfg-options``.

    Raises:
        InputDataError: an option's key is a near miss of the config's
            (:func:`misspelt_option`).
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.cfg_options is not None:
        for key, value in args.cfg_options.items():
            misspelt = misspelt_option(cfg, key)
            if misspelt:
                raise InputDataError(f'{key}={value}: {misspelt}')
        merge_moving_data_roots(cfg, args.cfg_options)
    # after the overrides, so that e.g. num_workers=0 turns persistence off
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(field)
        if loader is None:
            continue
        loader.setdefault('collate_fn', dict(type='default_collate'))
        # pinned memory only helps a copy to an accelerator; without one
        # torch warns once per loader
        loader.setdefault('pin_memory', True)
        if args.no_pin_memory or not torch.cuda.is_available():
            loader['pin_memory'] = False
        loader.setdefault('persistent_workers',
                          loader.get('num_workers', 0) > 0)
        if args.no_persistent_workers or loader.get('num_workers', 0) == 0:
            loader['persistent_workers'] = False
    return cfg
