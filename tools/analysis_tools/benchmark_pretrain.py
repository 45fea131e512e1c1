"""Measure the training speed and memory of a pretraining config.

    python tools/analysis_tools/benchmark_pretrain.py CONFIG \
        [--iters 20] [--warmup 5] [--batch-size B] [--device cuda|cpu] \
        [--data random|dataset] [--amp] [--data-only] [--cfg-options ...]

Runs real training iterations (forward, backward, optimizer step) and prints
images/s, ms/iter, its split into teacher (SAIP: momentum encoder) /
shape-mask PCA / the rest (student, decoder, losses, backward, optimizer),
and peak memory (CUDA:
allocated by torch; CPU: the process's peak RSS). ``--data random`` feeds
uint8 noise in the views' shapes (no data loading in the measurement);
``--data dataset`` loads real batches from the config's dataset first.
``--data-only`` times the data pipeline instead: images/s of one worker
(num_workers=0), so num_workers can be sized against the training rate.
On CUDA the loss is also run once under ``torch.cuda.set_sync_debug_mode``
to count host-device synchronisations inside it.

``--compare-with OTHER`` times this checkout against another one (e.g.
``git worktree add /tmp/base af9bc0b``) in one run: two processes, each
importing its own checkout's ``projects.saip_dpal`` and building the same
config (its path taken relative to each checkout), take training steps in
turn (ABBA order), so machine noise hits both alike; it prints each side's
median ms/iter, their ratio and each process's peak memory. ``OTHER`` may
also be a second config file, timed from this checkout against ``CONFIG``
(e.g. a child config that sets ``model.compile``); ``--cfg-options`` apply
to both sides.
"""
import argparse
import contextlib
import os.path as osp
import resource
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Benchmark a pretraining config (images/s, ms/iter, '
        'peak memory).')
    parser.add_argument('config', help='config file')
    parser.add_argument('--iters', type=int, default=20,
                        help='timed iterations (default 20)')
    parser.add_argument('--warmup', type=int, default=5,
                        help='untimed iterations first (default 5)')
    parser.add_argument('--batch-size', type=int,
                        help='images per iteration (default: the config)')
    parser.add_argument('--device', default=None,
                        help='cuda or cpu (default: cuda when available)')
    parser.add_argument('--data', choices=['random', 'dataset'],
                        default='random', help='input source (see above)')
    parser.add_argument('--amp', action='store_true',
                        help='fp16 autocast + loss scale (CUDA)')
    parser.add_argument('--data-only', action='store_true',
                        help='time the data pipeline, one worker')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--profile', type=int, metavar='N', default=0,
                        help='also profile 2 steps with torch.profiler and '
                        'print the N operators with the most self time')
    parser.add_argument('--compare-with', metavar='CHECKOUT_OR_CONFIG',
                        help='time against another checkout of the '
                        'repository or another config, steps alternating '
                        '(see above)')
    parser.add_argument('--serve', metavar='CHECKOUT',
                        help=argparse.SUPPRESS)  # one side of a comparison
    args = parser.parse_args(argv)
    args.config_given = args.config
    if not osp.isfile(args.config):
        # an old flat path of a pretraining config; not for --serve, whose
        # paths exist and which must import its own checkout, not this one
        if args.serve:
            parser.error(f'config file not found: {args.config}')
        from projects.saip_dpal.utils.runner_cli import config_path
        args.config = config_path(parser, args.config)
    return args


def views_cfg(cfg):
    """The views transform of the training pipeline."""
    pipeline = cfg.train_dataloader.dataset.pipeline
    views = next((t for t in pipeline if 'global_pipeline' in t), None)
    if views is None:
        raise ValueError('no views transform (global_pipeline) in the '
                         'training pipeline')
    return views


def listed_view_shapes(cfg):
    """(h, w) of each view in the order a checkout before named views
    listed them (the other side of --compare-with)."""
    views = views_cfg(cfg)

    def crop(key):
        t = next(t for t in views[key] if 'RandomResizedCrop' in t['type'])
        s = t['scale']
        return (s, s) if isinstance(s, int) else tuple(s)

    shapes = [crop('global_pipeline')]
    if views.get('second_global_pipeline'):
        shapes.append(crop('global_pipeline'))
    shapes += [crop('local_pipeline')] * views.get('num_locals', 2)
    if views.get('with_region'):
        shapes.append(crop('local_pipeline'))
    return shapes + [crop('canvas_pipeline')]


def random_batch(cfg, batch_size):
    """Random uint8 views of the config's sizes, by name (or as a list in
    a checkout before named views), with side-by-side paste boxes."""
    import torch

    from mmpretrain.registry import TRANSFORMS
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(0)

    def view(size):
        return torch.randint(0, 256, (batch_size, 3, *size), generator=g,
                             dtype=torch.uint8)

    named = hasattr(TRANSFORMS.get(views_cfg(cfg)['type']), 'view_sizes')
    if named:  # the transform is built, never run: no data is read
        sizes = TRANSFORMS.build(views_cfg(cfg)).view_sizes()
        inputs = {k: [view(s) for s in v] if isinstance(v, list) else
                  view(v) for k, v in sizes.items()}
        (h, w), (H, _) = sizes['pasted_local'], sizes['crowd']
    else:
        shapes = listed_view_shapes(cfg)
        inputs = [view(s) for s in shapes]
        (h, w), (H, _) = shapes[-2:]
    # two side-by-side paste boxes of the local size on the crowd view
    boxes = torch.tensor([[0, 0, w, h], [w, H - h, 2 * w, H]])
    samples = [DataSample() for _ in range(batch_size)]
    for sample in samples:
        value = dict(pasted_local=boxes[0].clone(), region=boxes[1].clone()) \
            if named else boxes.clone()
        sample.set_field(value, 'paste_boxes', field_type='metainfo')
    return dict(inputs=inputs, data_samples=samples)


def merge_options(cfg, options):
    """``--cfg-options`` as the training tools merge them (paths follow a
    moved data root); a checkout older than that helper merges plainly."""
    try:
        from projects.saip_dpal.utils.runner_cli import \
            merge_moving_data_roots
    except ImportError:  # the other side of --compare-with, before it
        return cfg.merge_from_dict(options)
    merge_moving_data_roots(cfg, options)


def load_cfg(args):
    """The config with ``--cfg-options``, its default scope set and the
    plugin (of the checkout first on ``sys.path``) registered."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        merge_options(cfg, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    import projects.saip_dpal  # noqa: F401  (registers the modules)
    return cfg


def data_only(cfg, args):
    from mmengine.runner import Runner
    loader_cfg = cfg.train_dataloader.copy()
    loader_cfg.update(num_workers=0, persistent_workers=False)
    if args.batch_size:
        loader_cfg.batch_size = args.batch_size
    loader = Runner.build_dataloader(loader_cfg, seed=0)

    def batches():  # epochs back to back: a small set may run out
        while True:
            yield from loader

    it = batches()
    for _ in range(args.warmup):
        next(it)
    t0, n = time.perf_counter(), 0
    for _ in range(args.iters):
        n += len(next(it)['data_samples'])
    dt = time.perf_counter() - t0
    print(f'data pipeline: {n / dt:.1f} images/s per worker '
          f'({1000 * dt / args.iters:.1f} ms per batch of '
          f'{loader_cfg.batch_size}, {args.iters} batches)')


class PartTimer:
    """Synchronised wall time spent in a callable / module forward."""

    def __init__(self, sync):
        self.sync = sync
        self.total = 0.

    @contextlib.contextmanager
    def measure(self):
        self.sync()
        t0 = time.perf_counter()
        yield
        self.sync()
        self.total += time.perf_counter() - t0

    def wrap(self, fn):

        def timed(*a, **k):
            with self.measure():
                return fn(*a, **k)

        return timed


def build(args):
    """(model, batch, batch size, step, sync, cuda, device) for ``args``;
    gradient accumulation is off, so every step includes the optimizer."""
    import torch
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.optim import build_optim_wrapper

    from mmpretrain.registry import MODELS
    MMLogger.get_instance('benchmark', log_level='WARNING')  # quiet init
    cfg = load_cfg(args)
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    cuda = device.type == 'cuda'
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    MessageHub.get_current_instance().update_info(
        'max_iters', args.warmup + 2 * args.iters)

    if cfg.model.get('teacher_checkpoint') and not osp.isfile(
            cfg.model.teacher_checkpoint):
        print(f'teacher checkpoint {cfg.model.teacher_checkpoint} not found:'
              ' timing with random teacher weights')
        cfg.model.teacher_checkpoint = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.to(device).train()
    optim_cfg = cfg.optim_wrapper.copy()
    if args.amp and cuda:
        optim_cfg.update(type='AmpOptimWrapper', loss_scale='dynamic')
    elif optim_cfg.get('type') == 'AmpOptimWrapper' and not cuda:
        optim_cfg.type = 'OptimWrapper'
        optim_cfg.pop('loss_scale', None)
    optim_cfg.pop('accumulative_counts', None)  # time whole steps
    optim = build_optim_wrapper(model, optim_cfg)

    batch_size = args.batch_size or cfg.train_dataloader.batch_size
    if args.data == 'random':
        batch = random_batch(cfg, batch_size)
    else:
        from mmengine.runner import Runner
        loader_cfg = cfg.train_dataloader.copy()
        loader_cfg.update(batch_size=batch_size, num_workers=0,
                          persistent_workers=False)
        batch = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))

    update_ema = getattr(model, 'update_ema', lambda: None)

    def step():  # what one training iteration runs, EMAUpdateHook included
        model.train_step(batch, optim)
        update_ema()

    return model, batch, batch_size, step, sync, cuda, device


def seconds_per_step(step, sync, cuda, device, warmup, iters) -> float:
    """Mean seconds of ``iters`` synchronised steps after ``warmup``
    untimed ones; the CUDA peak memory counts from the timed steps."""
    import torch
    for _ in range(warmup):
        step()
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    sync()
    return (time.perf_counter() - t0) / iters


def peak_memory_text(cuda, device):
    import torch
    if cuda:
        peak = torch.cuda.max_memory_allocated(device) / 2**20
        return f'{peak:.0f} MiB (CUDA, allocated)'
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f'{peak:.0f} MiB (process peak RSS)'


def serve(args):
    """One side of ``--compare-with``: build, warm up, then take a step per
    ``step`` line on stdin and answer its milliseconds."""
    sys.path.insert(0, osp.abspath(args.serve))
    _, _, _, step, sync, cuda, device = build(args)
    import projects.saip_dpal
    print(f'ready {osp.dirname(projects.saip_dpal.__file__)}', flush=True)
    for _ in range(args.warmup):
        step()
    sync()
    for line in sys.stdin:
        if line.strip() == 'step':
            t0 = time.perf_counter()
            step()
            sync()
            print(f'{1000 * (time.perf_counter() - t0):.3f}', flush=True)
        else:
            print(peak_memory_text(cuda, device), flush=True)
            return


def _in_checkout(root, rel):
    """``root/rel``; in a checkout from before the pretraining configs moved
    into ``configs/METHOD/``, the flat ``configs/NAME.py`` of the same
    name."""
    path = osp.join(root, rel)
    flat = osp.join(root, 'configs', osp.basename(rel))
    return flat if not osp.isfile(path) and osp.isfile(flat) else path


def compare(args, argv):
    """Alternate steps of this checkout and ``args.compare_with``."""
    import statistics
    import subprocess
    other = osp.abspath(args.compare_with)
    config = osp.abspath(args.config)
    rel = osp.relpath(config, ROOT)
    rest = [a for a in argv if a != args.config_given]
    i = rest.index('--compare-with')
    rest = rest[:i] + rest[i + 2:]
    if osp.isfile(other):  # another config of this checkout
        runs = (('this', ROOT, config), ('other', ROOT, other))
    else:  # the same config in another checkout
        runs = tuple((name, root, config if rel.startswith('..') else
                      _in_checkout(root, rel))
                     for name, root in (('this', ROOT), ('other', other)))
    sides, configs = {}, {}
    for name, root, cfg in runs:
        configs[name] = osp.relpath(cfg, root)
        sides[name] = subprocess.Popen(
            [sys.executable, osp.abspath(__file__), cfg, '--serve', root] +
            rest, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    where = {}
    for name, proc in sides.items():
        line = proc.stdout.readline()
        while line and not line.startswith('ready '):
            print(line, end='')
            line = proc.stdout.readline()
        if not line:
            raise SystemExit(f'error: the {name} side did not start')
        where[name] = line.split(' ', 1)[1].strip()
    times = {name: [] for name in sides}
    for i in range(args.iters):
        # ABBA order: neither side always runs right after the other
        for name in (('this', 'other') if i % 2 == 0 else ('other', 'this')):
            proc = sides[name]
            proc.stdin.write('step\n')
            proc.stdin.flush()
            times[name].append(float(proc.stdout.readline()))
    peaks = {}
    for name, proc in sides.items():
        proc.stdin.write('done\n')
        proc.stdin.flush()
        peaks[name] = proc.stdout.readline().strip()
        proc.wait()
    med = {n: statistics.median(t) for n, t in times.items()}
    print(f'{args.iters} alternating steps after {args.warmup} warm-up '
          'steps each')
    for name in sides:
        print(f'{name:>5}: {med[name]:8.1f} ms/iter median (min '
              f'{min(times[name]):.1f}, max {max(times[name]):.1f}); peak '
              f'{peaks[name]}; {configs[name]} in {where[name]}')
    print(f'ratio this / other: {med["this"] / med["other"]:.3f} '
          '(medians of the same run)')


def print_profile(step, cuda, top):
    """The ``top`` operators by self time over 2 profiled steps."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                           if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(2):
            step()
    key = 'self_cuda_time_total' if cuda else 'self_cpu_time_total'
    print(f'profile of 2 steps, by {key}:')
    print(prof.key_averages().table(sort_by=key, row_limit=top,
                                    max_name_column_width=40))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.serve:
        return serve(args)
    if args.compare_with:
        return compare(args, argv)
    if args.data_only:
        return data_only(load_cfg(args), args)
    import torch
    model, batch, batch_size, step, sync, cuda, device = build(args)
    step_s = seconds_per_step(step, sync, cuda, device, args.warmup,
                              args.iters)

    # a second, synchronised pass splits the step into its parts
    teacher_t, pca_t = PartTimer(sync), PartTimer(sync)
    # DPAL's frozen teacher; SAIP's momentum encoder (its backbone; called
    # teacher in a checkout before that name)
    patched = []
    teacher = getattr(model, 'teacher', None) or getattr(
        model, 'momentum_encoder', None)
    if teacher is not None:
        owner = teacher.module.backbone if hasattr(teacher, 'module') \
            else teacher
        name = 'forward_tokens' if hasattr(owner, 'forward_tokens') \
            else 'forward'
        setattr(owner, name, teacher_t.wrap(getattr(owner, name)))
        patched.append((owner, name))
    algo_module = sys.modules[type(model).__module__]
    pca_fn = getattr(algo_module, 'pca_shape_mask', None)
    if pca_fn is not None:
        algo_module.pca_shape_mask = pca_t.wrap(pca_fn)
    try:
        t0 = time.perf_counter()
        for _ in range(args.iters):
            step()
        sync()
        split_s = (time.perf_counter() - t0) / args.iters
    finally:
        for owner, name in patched:
            delattr(owner, name)
        if pca_fn is not None:
            algo_module.pca_shape_mask = pca_fn
    teacher_ms = 1000 * teacher_t.total / args.iters
    pca_ms = 1000 * pca_t.total / args.iters
    rest_ms = 1000 * split_s - teacher_ms - pca_ms

    peak_txt = peak_memory_text(cuda, device)
    name = torch.cuda.get_device_name(device) if cuda else \
        f'CPU, {torch.get_num_threads()} threads'
    print(f'config: {args.config}')
    print(f'device: {name}; batch {batch_size}; data {args.data}; '
          f'{"fp16 AMP" if args.amp and cuda else "fp32"}; '
          f'{args.iters} timed iterations after {args.warmup}')
    print(f'throughput: {batch_size / step_s:.1f} images/s, '
          f'{1000 * step_s:.1f} ms/iter')
    pca_txt = f'shape-mask PCA {pca_ms:.2f} ms ' \
        f'({100 * pca_ms / (1000 * split_s):.2f}% of the step), ' \
        if pca_fn is not None else ''
    print(f'split (synchronised pass, {1000 * split_s:.1f} ms/iter): '
          f'teacher {teacher_ms:.1f} ms, {pca_txt}student + heads + '
          f'losses + backward + optimizer {rest_ms:.1f} ms')
    print(f'peak memory: {peak_txt}')
    if args.profile:
        print_profile(step, cuda, args.profile)

    if cuda:  # host-device synchronisations inside the loss
        from projects.saip_dpal.utils.host_syncs import HostSyncCounter
        data = model.data_preprocessor(batch, True)
        with HostSyncCounter(device) as syncs:
            model.loss(data['inputs'], data['data_samples'])
            sync()
        print(f'host-device synchronisations inside the loss: {syncs.count}')
        for where in syncs.found[:5]:
            print(f'  {where}')


if __name__ == '__main__':
    main()
