"""One entry point that writes the chosen synthetic datasets."""
import os
import os.path as osp
import time

from .common import SUBSET_DIRS, check_ours
from .coco_writer import write_coco
from .lip_writer import write_lip
from .lup_writer import write_lup
from .market_writer import write_market
from .pa100k_writer import write_pa100k

#: subset name -> writer(out_dir, seed, scale) -> dict
WRITERS = dict(
    lup=write_lup,
    coco=write_coco,
    lip=write_lip,
    market=write_market,
    pa100k=write_pa100k)
SUBSETS = tuple(WRITERS)


def generate_synthetic_humans(out_dir, seed=0, scale=1.0, subsets=None):
    """Write synthetic human-centric datasets under ``out_dir``.

    Everything derives from ``seed`` (same seed, same bytes); ``scale``
    multiplies every item count. A subset's folders are emptied before
    they are written, and only if this generator wrote them: a folder
    without its marker (a real dataset) stops the run before anything is
    deleted.

    Args:
        out_dir (str): output root.
        seed (int): non-negative seed.
        scale (float): size factor (1.0: about 700 small images).
        subsets (list[str] | None): some of :data:`SUBSETS` (``lup``
            writes ``LUPerson/`` and ``canvas/``); None for all.

    Returns:
        dict: ``{subset: {counts..., 'path': ...}}`` plus ``seed``,
        ``scale``, ``out_dir`` and ``seconds``.
    """
    subsets = SUBSETS if subsets is None else tuple(subsets)
    unknown = [s for s in subsets if s not in WRITERS]
    if unknown:
        raise ValueError(f'unknown subsets {unknown}; choose from {SUBSETS}')
    if int(seed) < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    if not float(scale) > 0:
        raise ValueError(f'scale must be > 0, got {scale}')
    out_dir = osp.abspath(out_dir)
    for name in subsets:
        for folder in SUBSET_DIRS[name]:
            check_ours(osp.join(out_dir, folder))
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.time()
    summary = dict(out_dir=out_dir, seed=int(seed), scale=float(scale))
    for name in SUBSETS:
        if name in subsets:
            summary[name] = WRITERS[name](out_dir, int(seed), float(scale))
    summary['seconds'] = round(time.time() - t0, 2)
    return summary


def format_summary(summary):
    """Human-readable lines of a ``generate_synthetic_humans`` summary."""
    lines = [f'synthetic humans in {summary["out_dir"]} '
             f'(seed {summary["seed"]}, scale {summary["scale"]}, '
             f'{summary["seconds"]:.1f}s)']
    for name in SUBSETS:
        info = summary.get(name)
        if info is None:
            continue
        counts = []
        for key, val in info.items():
            if isinstance(val, dict):
                val = ', '.join(f'{k} {v}' for k, v in val.items()
                                if isinstance(v, int))
                counts.append(f'{key}: {val}')
            elif isinstance(val, int):
                counts.append(f'{key} {val}')
        lines.append(f'  {name:7s} {info["path"]}: ' + '; '.join(counts))
    return '\n'.join(lines)
