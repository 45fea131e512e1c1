"""The one-shot GPU check of the headline commands (README: GPU check).

    python tools/device/gpu_check.py --out DIR [--device cuda|cpu]
        [--parts steps syncs launch finetune]

Four parts, each written to ``DIR/summary.json`` as it finishes (a run cut
off by its time limit keeps what it did) and printed as one table at the
end (``DIR/summary.txt``):

1. ``steps``: one training step of the DPAL PATH-B -> ViT-Ti and the SAIP
   ViT-Ti paper configs at their per-GPU batch (256; 64, one micro-batch of
   the accumulation of 4, each with an optimizer step), the precision as
   shipped (fp16 AMP on CUDA), random data and a random teacher, eager and
   with ``model.compile``: ms/step, images/s, peak memory, and MFU from the
   FLOPs ``torch.utils.flop_counter`` counts in one step (matrix products,
   convolutions and attention, forward and backward: the tensor-core work;
   element-wise ops and the optimizer are not counted) over the card's
   dense fp16 peak.
2. ``syncs``: host-device synchronisations inside each loss
   (``model.loss`` alone) and in a whole training step, with where they
   happen (``HostSyncCounter``, i.e. ``torch.cuda.set_sync_debug_mode``).
3. ``launch``: ``tools/dist_train.sh CONFIG 1`` (NCCL on a GPU) of both
   methods' synthetic configs on generated synthetic data: finite losses,
   the last checkpoint, a second launch resuming from the middle
   checkpoint whose last weights are compared bit for bit with the
   uninterrupted run's, and the fraction of the step spent waiting for data
   with the given workers (about 100 iterations: the 50 synthetic images
   over as many epochs as it takes).
4. ``finetune``: the backbone extracted from the DPAL run above
   (tools/model_converters/extract_backbone.py), fine-tuned for one
   iteration by the synthetic pose and parsing configs.

The compiled steps run last (compiling may take long), so a run stopped
at its time limit still has the other parts.

``--device cpu`` is the dry run ``make test`` takes (tiny sizes: batch 2,
a few iterations, compile with the eager backend), so the kit cannot rot
between the rare GPU machines.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path[:0] = [ROOT, osp.join(ROOT, 'tools', 'analysis_tools')]

PAPER = {
    'dpal': 'configs/dpal/dpal_pathb_vit-tiny-p16_8xb256-amp-200e_lup1m.py',
    'saip': 'configs/saip/saip_vit-tiny-p16_8xb64-accum4-amp-300e_lup1m.py',
}
SYNTHETIC = {
    'dpal': 'configs/dpal/dpal_pathb_vit-tiny-p16_1xb16-2e_synthetic-lup.py',
    'saip': 'configs/saip/saip_vit-tiny-p16_1xb8-2e_synthetic-lup.py',
}
#: dense fp16 / bf16 tensor-core peak (FLOP/s) by a word of the card's name
PEAK_FLOPS = {'H100': 989e12, 'H200': 989e12, 'A100': 312e12}
PARTS = ('steps', 'syncs', 'launch', 'finetune')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='summary folder')
    parser.add_argument('--device', default=None,
                        help='cuda (default when there is one) or cpu: the '
                        'dry run at tiny sizes')
    parser.add_argument('--parts', nargs='+', choices=PARTS,
                        default=list(PARTS))
    parser.add_argument('--text-only', action='store_true',
                        help='only write summary.txt from summary.json '
                        '(after a run stopped at its time limit)')
    parser.add_argument('--workers', type=int, default=None,
                        help='data workers of the launches (default 16 on '
                        'CUDA, 1 on the CPU)')
    parser.add_argument('--iters', type=int, default=None,
                        help='iterations of each launch (default 100 on '
                        'CUDA, 4 on the CPU)')
    args = parser.parse_args(argv)
    import torch
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    args.cuda = args.device == 'cuda'
    if args.workers is None:
        args.workers = 16 if args.cuda else 1
    if args.iters is None:
        args.iters = 100 if args.cuda else 4
    args.iters += args.iters % 2  # resumed from the middle
    return args


class Summary:
    """The results by part, rewritten to ``summary.json`` after each."""

    def __init__(self, out: str, device: str):
        import torch
        self.path = osp.join(out, 'summary.json')
        card = torch.cuda.get_device_name() if device == 'cuda' else \
            f'CPU, {torch.get_num_threads()} threads'
        self.data = dict(device=card, torch=torch.__version__,
                         date=time.strftime('%Y-%m-%d %H:%M UTC',
                                            time.gmtime()))
        self.save()

    def add(self, part: str, value) -> None:
        self.data[part] = value
        self.save()

    def save(self) -> None:
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.data, f, indent=1)
        os.replace(tmp, self.path)


def _log(text: str) -> None:
    print(f'[gpu_check {time.strftime("%H:%M:%S")}] {text}', flush=True)


# --- 1 and 2: steps and syncs -------------------------------------------

def _bench_args(args, method: str, compiled: bool):
    """The arguments ``benchmark_pretrain.build`` takes."""
    options = {}
    if compiled:  # the blocks of both networks
        other = 'teacher' if method == 'dpal' else 'momentum_encoder'
        options['model.compile'] = dict(
            {'student': True, other: True},
            **({} if args.cuda else dict(backend='eager')))
    return argparse.Namespace(
        config=osp.join(ROOT, PAPER[method]), cfg_options=options,
        device=args.device, warmup=3 if args.cuda else 1,
        iters=10 if args.cuda else 1,
        batch_size=None if args.cuda else 2, amp=False, data='random')


def _peak_flops(card: str):
    return next((v for k, v in PEAK_FLOPS.items() if k in card), None)


def measure_steps(args, method: str, compiled: bool) -> dict:
    """ms/step, images/s, peak memory and MFU of one config."""
    import torch
    from benchmark_pretrain import build, seconds_per_step
    from torch.utils.flop_counter import FlopCounterMode
    from torch._dynamo.utils import counters
    bench = _bench_args(args, method, compiled)
    torch._dynamo.reset()
    counters.clear()
    model, batch, batch_size, step, sync, cuda, device = build(bench)
    start = time.perf_counter()
    step()  # the first step compiles
    sync()
    first_s = time.perf_counter() - start
    step_s = seconds_per_step(step, sync, cuda, device, bench.warmup - 1,
                              bench.iters)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if cuda else None
    flops = None
    if not compiled:  # counted on the eager ops (the same arithmetic)
        counter = FlopCounterMode(display=False)
        with counter:
            step()
        flops = counter.get_total_flops()
    out = dict(batch=batch_size, ms_per_step=round(1000 * step_s, 2),
               images_per_s=round(batch_size / step_s, 2),
               first_step_s=round(first_s, 1),
               peak_gib=None if peak is None else round(peak, 2))
    if flops is not None:
        out['tflop_per_step'] = round(flops / 1e12, 3)
    else:  # graphs compiled (a block's code falls back to eager once it
        # has torch._dynamo.config.recompile_limit of them)
        out['graphs'] = counters['stats']['unique_graphs']
    del model, batch
    if cuda:
        torch.cuda.empty_cache()
    return out


def count_syncs(args, method: str) -> dict:
    """Host-device synchronisations inside the loss and in a whole step."""
    import torch
    from benchmark_pretrain import build

    from projects.saip_dpal.utils.host_syncs import HostSyncCounter
    if not args.cuda:  # the meta-device tests cover the losses there
        return dict(note='counted on CUDA only; the tests check the losses '
                    'on the meta device')
    bench = _bench_args(args, method, compiled=False)
    model, batch, _, step, sync, _, device = build(bench)
    step()
    sync()
    data = model.data_preprocessor(batch, True)
    with HostSyncCounter(device) as in_loss:
        model.loss(data['inputs'], data['data_samples'])
    sync()  # outside the count: an explicit wait is not a hidden one
    with HostSyncCounter(device) as in_step:
        step()
    sync()
    del model, batch
    torch.cuda.empty_cache()
    return dict(in_loss=in_loss.count, in_step=in_step.count,
                where_in_loss=in_loss.found[:10],
                where_in_step=sorted(set(in_step.found))[:10])


# --- 3: launches --------------------------------------------------------

def _launch_options(args, method: str, data_root: str) -> tuple:
    """(--cfg-options, epochs) of the synthetic config for about
    ``args.iters`` iterations on ``data_root``, in an even number of
    epochs (the checkpoint of the middle one is resumed)."""
    half = args.iters // 2
    batch = 16 if args.cuda else 2
    images = len(glob.glob(osp.join(data_root, 'LUPerson', '**', '*.jpg'),
                           recursive=True))
    used = min(images, half * batch)
    epochs = 2 * math.ceil(half / math.ceil(used / batch))
    options = [
        f'train_dataloader.dataset.data_root={data_root}',
        f'train_dataloader.dataset.indices={used}',
        f'train_dataloader.batch_size={batch}',
        f'train_dataloader.num_workers={args.workers}',
        f'train_dataloader.persistent_workers={args.workers > 0}',
        f'train_cfg.max_epochs={epochs}', 'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={epochs // 2}',
        'default_hooks.checkpoint.max_keep_ckpts=2',
        f'train_dataloader.dataset.pipeline.1.canvas_root={data_root}/canvas',
    ]
    if method == 'dpal' and not args.cuda:  # a ViT-Ti teacher on the CPU
        options += ['model.teacher.arch=deit-tiny',
                    'model.neck.out_channels=192', 'model.neck.num_heads=3',
                    'model.neck.gate_num_heads=3']
    return options, epochs


def _dist_train(config: str, work_dir: str, options: list, port: int,
                resume: str = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(port),
               PYTHONUNBUFFERED='1')
    cmd = ['bash', osp.join(ROOT, 'tools/dist_train.sh'),
           osp.join(ROOT, config), '1', '--work-dir', work_dir]
    if resume:
        cmd += ['--resume', resume]
    return subprocess.run(cmd + ['--cfg-options', *options], cwd=ROOT,
                          env=env, capture_output=True, text=True)


def _scalars(work_dir: str) -> list:
    """The per-iteration records of the run's scalars.json."""
    path = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))[-1]
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _same_state(a: str, b: str) -> dict:
    import torch
    sa = torch.load(a, map_location='cpu', weights_only=False)['state_dict']
    sb = torch.load(b, map_location='cpu', weights_only=False)['state_dict']
    diff = max((float((sa[k].float() - sb[k].float()).abs().max())
                for k in sa if sa[k].is_floating_point()), default=0.)
    equal = set(sa) == set(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)
    return dict(bit_identical=equal, max_abs_diff=diff)


def launch(args, method: str, data_root: str, work: str) -> dict:
    """All epochs in one launch, then the second half again, resumed from
    the middle epoch's checkpoint."""
    config = SYNTHETIC[method]
    options, epochs = _launch_options(args, method, data_root)
    middle, last = f'epoch_{epochs // 2}.pth', f'epoch_{epochs}.pth'
    port = 29500 + os.getpid() % 1000 + (method == 'saip')
    full = osp.join(work, f'{method}_full')
    start = time.perf_counter()
    run = _dist_train(config, full, options, port)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        return dict(ok=False, rc=run.returncode,
                    error=(run.stdout + run.stderr)[-2000:])
    records = [r for r in _scalars(full) if 'loss' in r]
    losses = [r['loss'] for r in records]
    skip = min(10, len(records) // 2)  # worker start-up
    timed = records[skip:]
    wait = sum(r['data_time'] for r in timed) / max(
        sum(r['time'] for r in timed), 1e-9)
    resumed = osp.join(work, f'{method}_resumed')
    os.makedirs(resumed)
    shutil.copy(osp.join(full, middle), resumed)
    again = _dist_train(config, resumed, options, port,
                        resume=osp.join(resumed, middle))
    out = dict(ok=all(math.isfinite(v) for v in losses),
               iters=len(records), seconds=round(seconds, 1),
               first_loss=losses[0], last_loss=losses[-1],
               data_wait_fraction=round(wait, 4), workers=args.workers,
               epochs=epochs, checkpoint=osp.isfile(osp.join(full, last)))
    if again.returncode != 0:
        out.update(resume_ok=False, resume_error=(again.stdout +
                                                  again.stderr)[-2000:])
    else:
        out.update(resume_ok=True, **_same_state(
            osp.join(full, last), osp.join(resumed, last)))
    return out


# --- 4: fine-tuning -----------------------------------------------------

def finetune_one_iteration(args, task: str, checkpoint: str,
                           data_root: str, work: str) -> dict:
    """One batch of the task's synthetic config from the extracted
    backbone, then its validation."""
    from projects.saip_dpal.benchmarks.hvp_benchmark import (
        HVP_TASKS, finetune, finetune_config)
    backbone = osp.join(work, 'backbone.pth')
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'no DPAL checkpoint {checkpoint}: the '
                                'launch part makes it')
    if not osp.isfile(backbone):
        run = subprocess.run([sys.executable, osp.join(
            ROOT, 'tools/model_converters/extract_backbone.py'), checkpoint,
            backbone], capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError('extract_backbone.py: ' + (
                run.stderr.strip().splitlines() or ['failed'])[-1])
    batch = finetune_config(task, None, data_root,
                            work).train_dataloader.batch_size
    out = finetune(task, backbone, data_root, osp.join(work, task),
                   epochs=1, options={
                       'train_dataloader.dataset.indices': batch,
                       'train_dataloader.num_workers': 0,
                       'train_dataloader.persistent_workers': False})
    metric = HVP_TASKS[task].metrics[0][1]
    return dict(iters=out['iters'], seconds=round(out['seconds'], 1),
                metric=metric, value=round(out[HVP_TASKS[task].metrics[0][
                    0]], 3), ok=math.isfinite(out[HVP_TASKS[task].metrics[
                        0][0]]))


# --- the run ------------------------------------------------------------

def _guarded(summary, name, fn, *a):
    """Run one entry; a failure is recorded, not raised."""
    _log(f'{name} ...')
    try:
        value = fn(*a)
    except Exception as e:  # noqa: BLE001  (the summary says what failed)
        value = dict(ok=False, error=f'{type(e).__name__}: {e}'[:2000])
    _log(f'{name}: {json.dumps(value)[:300]}')
    return value


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.text_only:
        return write_text(args.out)
    os.makedirs(args.out, exist_ok=True)
    summary = Summary(args.out, args.device)
    summary.add('parts', args.parts)
    peak = _peak_flops(summary.data['device']) if args.cuda else None
    steps = {}

    def run_steps(compiled: bool) -> None:
        for method in PAPER:
            key = f'{method}_{"compiled" if compiled else "eager"}'
            steps[key] = _guarded(summary, key, measure_steps, args, method,
                                  compiled)
            flops = steps[f'{method}_eager'].get('tflop_per_step')
            ms = steps[key].get('ms_per_step')
            if flops and ms and peak:
                steps[key]['mfu'] = round(flops * 1e12 / (ms / 1000) / peak,
                                          3)
            summary.add('steps', steps)

    if 'steps' in args.parts:
        run_steps(compiled=False)
    if 'syncs' in args.parts:
        summary.add('syncs', {m: _guarded(summary, f'syncs {m}', count_syncs,
                                          args, m) for m in PAPER})
    work = osp.join(args.out, 'work')
    data_root = osp.join(work, 'synthetic')
    if {'launch', 'finetune'} & set(args.parts):
        from projects.saip_dpal.datasets.synthetic import \
            generate_synthetic_humans
        if not osp.isdir(data_root):
            generate_synthetic_humans(data_root, seed=0, scale=0.25)
    if 'launch' in args.parts:
        summary.add('launch', {m: _guarded(summary, f'launch {m}', launch,
                                           args, m, data_root, work)
                               for m in SYNTHETIC})
    if 'finetune' in args.parts:
        checkpoint = osp.join(work, 'dpal_full', 'last_checkpoint')
        if osp.isfile(checkpoint):
            with open(checkpoint) as f:
                checkpoint = f.read().strip()
        summary.add('finetune', {
            t: _guarded(summary, f'finetune {t}', finetune_one_iteration,
                        args, t, checkpoint, data_root, work)
            for t in ('pose', 'parsing')})
    if 'steps' in args.parts:  # last: compiling may take long
        run_steps(compiled=True)
    return write_text(args.out)


def write_text(out: str) -> int:
    """``summary.txt`` from ``summary.json``, printed; 0 if all passed."""
    with open(osp.join(out, 'summary.json')) as f:
        data = json.load(f)
    text = format_summary(data)
    with open(osp.join(out, 'summary.txt'), 'w') as f:
        f.write(text + '\n')
    print(text)
    return 0 if all_ok(data) else 1


def all_ok(data: dict) -> bool:
    entries = [v for part in PARTS for v in (data.get(part) or {}).values()]
    return all(e.get('ok', True) and e.get('resume_ok', True) for e in
               entries)


def format_summary(data: dict) -> str:
    """The summary as a person reads it."""
    lines = [f'GPU check on {data["device"]}, torch {data["torch"]}, '
             f'{data["date"]}']
    for key, s in (data.get('steps') or {}).items():
        if 'error' in s:
            lines.append(f'  step {key}: FAILED {s["error"][:200]}')
            continue
        mfu = f', MFU {100 * s["mfu"]:.1f}%' if 'mfu' in s else ''
        if 'tflop_per_step' in s:
            mfu = f', {s["tflop_per_step"]} TFLOP counted{mfu}'
        mem = f', peak {s["peak_gib"]} GiB' if s['peak_gib'] else ''
        graphs = f', {s["graphs"]} graphs' if 'graphs' in s else ''
        lines.append(f'  step {key}: batch {s["batch"]}, '
                     f'{s["ms_per_step"]} ms, {s["images_per_s"]} images/s'
                     f'{mem}{mfu} (first step {s["first_step_s"]} s'
                     f'{graphs})')
    for key, s in (data.get('syncs') or {}).items():
        if 'in_loss' in s:
            lines.append(f'  syncs {key}: {s["in_loss"]} inside the loss, '
                         f'{s["in_step"]} in a whole step')
        else:
            lines.append(f'  syncs {key}: {s.get("note") or s.get("error")}')
    for key, s in (data.get('launch') or {}).items():
        if 'iters' not in s:
            lines.append(f'  dist_train {key}: FAILED rc={s.get("rc")}')
            continue
        resume = ('bit-identical' if s.get('bit_identical') else
                  f'differs by {s.get("max_abs_diff")}') if s.get(
                      'resume_ok') else 'resume FAILED'
        lines.append(f'  dist_train {key}: {s["iters"]} iterations in '
                     f'{s["seconds"]} s, loss {s["first_loss"]:.3f} -> '
                     f'{s["last_loss"]:.3f}, data wait '
                     f'{100 * s["data_wait_fraction"]:.1f}% with '
                     f'{s["workers"]} workers, resume {resume}')
    for key, s in (data.get('finetune') or {}).items():
        lines.append(f'  finetune {key}: ' + (
            f'{s["iters"]} iteration(s), then {s["metric"]} {s["value"]}'
            if s.get('ok') else f'FAILED {s.get("error", "")[:200]}'))
    missing = [p for p in data.get('parts', PARTS) if p not in data]
    if missing:  # stopped at the time limit
        lines.append(f'  not run: {", ".join(missing)}')
    lines.append('SOME CHECKS FAILED' if not all_ok(data) else
                 'INCOMPLETE' if missing else 'all passed')
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main())
