"""The main job on the embedded default data (``make demo``).

1. writes the synthetic human-centric datasets (skipped when present);
2. pretrains the DPAL demo config (PATH-B -> ViT-Ti at half resolution), then
   the SAIP demo config (ViT-Ti), on the synthetic LUPerson crops and scene
   canvases, printing each loss term first -> last and images/s;
3. extracts each student backbone (as tools/model_converters/
   extract_backbone.py does) to ``<work-dir>/<ALGO>_backbone.pth`` and
   draws what it sees on a few crops (as tools/visualization/
   vis_backbone.py does) to ``<work-dir>/<ALGO>_maps.png``, and the model
   at work on its views (DPAL's shape masks, SAIP's search maps and
   reconstructions) to ``<work-dir>/<ALGO>_*.png``;
4. fine-tunes each backbone, and a randomly initialised one, on pose
   (mmpose), parsing (mmseg) and ReID (mmpretrain) on the synthetic data
   (tools/analysis_tools/hvp_benchmark.py) and prints the metrics table.
"""
import argparse
import contextlib
import logging
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmengine.config import Config  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from projects.saip_dpal.benchmarks import (  # noqa: E402
    HVP_TASKS, format_hvp_table, run_hvp_benchmark)
from projects.saip_dpal.datasets.synthetic import (  # noqa: E402
    format_summary, generate_synthetic_humans)
from projects.saip_dpal.models.utils import export_backbone  # noqa: E402
from projects.saip_dpal.models.utils.backbone_extraction import (  # noqa
    build_backbone_from_file)
from projects.saip_dpal.utils.image_folder import find_images  # noqa: E402
from projects.saip_dpal.visualization import (  # noqa: E402
    write_backbone_maps, write_pretraining_maps)

DEMO_CONFIGS = [
    osp.join(ROOT, 'configs', name)
    for name in ('dpal/dpal_pathb_vit-tiny-p16_1xb16-2e_synthetic-lup.py',
                 'saip/saip_vit-tiny-p16_1xb8-2e_synthetic-lup.py')
]
DEMO_TASKS = ('pose', 'parsing', 'reid')
#: crops drawn in the pictures, at the demo configs' input size (h, w)
PICTURE_CROPS, PICTURE_SIZE = 4, (128, 64)
FINETUNE_EPOCHS = 4


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Run the demo: synthetic data -> pretraining.')
    parser.add_argument('--data', default=osp.join(ROOT, 'data', 'synthetic'),
                        help='where the synthetic datasets live')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--scale', type=float, default=1.0,
                        help='synthetic dataset size factor')
    parser.add_argument('--config', nargs='+', default=DEMO_CONFIGS,
                        help='configs to train, one after the other')
    parser.add_argument('--work-dir',
                        default=osp.join(ROOT, 'work_dirs', 'demo'),
                        help='each config gets a sub-folder of this')
    parser.add_argument('--max-epochs', type=int, default=None,
                        help='override the pretraining configs (e.g. 1 for '
                        'a quick check)')
    parser.add_argument('--tasks', nargs='*', default=list(DEMO_TASKS),
                        choices=list(HVP_TASKS),
                        help='downstream fine-tunes (none: pretrain only)')
    parser.add_argument('--finetune-epochs', type=int,
                        default=FINETUNE_EPOCHS,
                        help='epochs of each downstream fine-tune')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    marker = osp.join(args.data, 'LUPerson')
    if not osp.isdir(marker):
        summary = generate_synthetic_humans(
            args.data, seed=args.seed, scale=args.scale)
        print('[demo] ' + format_summary(summary))
    else:
        print(f'[demo] reusing synthetic data in {args.data}')

    backbones = {'random': None}
    for config in args.config:
        algorithm, checkpoint = train(config, args)
        backbone = osp.join(args.work_dir, f'{algorithm}_backbone.pth')
        report = export_backbone(checkpoint, backbone)
        print(f'[demo] {algorithm} student backbone ({report["kept"]} '
              f'tensors) -> {backbone}')
        backbones[algorithm] = backbone
        print(f'[demo] {algorithm} features, attention and shape mask -> '
              f'{draw_maps(backbone, args)}')
    if not args.tasks:
        return None
    results = run_hvp_benchmark(
        backbones, args.tasks, args.data, osp.join(args.work_dir, 'hvp'),
        log=lambda line: print('[demo] ' + line[len('[hvp] '):]),
        seed=args.seed, epochs=args.finetune_epochs)
    print(f'[demo] downstream fine-tunes on the synthetic data '
          f'({args.finetune_epochs} epochs each, same seed), percent:')
    print(format_hvp_table(results))
    return results


def draw_maps(backbone: str, args) -> str:
    """The backbone's panels on the first crops of the pretraining data."""
    import cv2
    crops = find_images(osp.join(args.data, 'LUPerson'))[:PICTURE_CROPS]
    out = osp.splitext(backbone)[0].replace('_backbone', '') + '_maps.png'
    write_backbone_maps(build_backbone_from_file(backbone),
                        [cv2.imread(p) for p in crops], out, PICTURE_SIZE)
    return out


class ProgressLine(Hook):
    """One console line per run: iterations, ETA and loss, rewritten in
    place on a terminal (elsewhere printed at each quarter)."""
    priority = 'VERY_LOW'

    def __init__(self, title: str):
        self.title = title
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
        line = (f'[demo] {self.title}: {done}/{total} iterations{loss}, '
                f'eta {eta:.0f} s')
        end = '\n' if done == total or not self.tty else ''
        print(('\r' if self.tty else '') + line, end=end, flush=True)


@contextlib.contextmanager
def quiet_console():
    """Runners built inside log to their file only (errors still show)."""
    build = Runner.build_logger

    def build_quiet(self, *args, **kwargs):
        logger = build(self, *args, **kwargs)
        for handler in logger.handlers:
            if not isinstance(handler, logging.FileHandler):
                handler.setLevel(logging.ERROR)
        return logger

    Runner.build_logger = build_quiet
    try:
        yield
    finally:
        Runner.build_logger = build


def draw_views(runner, out_prefix: str) -> list:
    """The trained model's pictures on its first training views."""
    from mmengine.dataset import default_collate
    dataset = runner.train_dataloader.dataset
    batch = default_collate([dataset[i] for i in range(PICTURE_CROPS)])
    data = runner.model.data_preprocessor(batch, False)
    return write_pretraining_maps(runner.model, data['inputs'],
                                  data['data_samples'], out_prefix)


def train(config, args):
    """Train one demo config on the synthetic data; print what it did.
    Returns the algorithm's name and the last checkpoint."""
    name = osp.splitext(osp.basename(config))[0]
    cfg = Config.fromfile(config)
    cfg.work_dir = osp.join(args.work_dir, name)
    cfg.experiment_name = f'{name}_{time.strftime("%Y%m%d_%H%M%S")}'
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = args.data
    for t in dataset.pipeline:  # views drawing crowd canvases
        if 'canvas_root' in t:
            t.canvas_root = osp.join(args.data, 'canvas')
    cfg.randomness = dict(seed=args.seed)
    if args.max_epochs is not None:
        cfg.train_cfg.max_epochs = args.max_epochs
    with quiet_console():
        runner = Runner.from_cfg(cfg)
    runner.register_hook(ProgressLine(f'{cfg.model.type} pretraining'))
    t0 = time.time()
    runner.train()
    seconds = time.time() - t0
    images = runner.iter * cfg.train_dataloader.batch_size
    log = osp.join(runner.log_dir, f'{runner.timestamp}.log')
    print(f'[demo] {name}: {runner.iter} iterations, '
          f'{images / seconds:.1f} images/s; log {log}')
    print(f'[demo] {cfg.model.type} at work on its views -> ' + ', '.join(
        draw_views(runner, osp.join(args.work_dir, f'{cfg.model.type}_'))))
    scalars = runner.message_hub.log_scalars
    for key in sorted(k for k in scalars if k.startswith('train/loss')):
        values = scalars[key].data[0]
        print(f'[demo]   {key[6:]:14s} {values[:3].mean():.4f} -> '
              f'{values[-3:].mean():.4f} (mean of first / last 3 iterations)')
    with open(osp.join(cfg.work_dir, 'last_checkpoint')) as f:
        return cfg.model.type, f.read().strip()


if __name__ == '__main__':
    main()
