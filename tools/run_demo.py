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
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from projects.saip_dpal.benchmarks import (  # noqa: E402
    HVP_TASKS, format_hvp_table, run_hvp_benchmark)
from projects.saip_dpal.benchmarks.pretraining import (  # noqa: E402
    log_file, loss_history, pretrain, pretraining_config, print_losses)
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
    cfg = pretraining_config(config, args.data,
                             osp.join(args.work_dir, name), args.seed,
                             args.max_epochs)
    runner, checkpoint, seconds = pretrain(
        cfg, f'{cfg.model.type} pretraining')
    images = runner.iter * cfg.train_dataloader.batch_size
    print(f'[demo] {name}: {runner.iter} iterations, '
          f'{images / seconds:.1f} images/s; log {log_file(runner)}')
    print(f'[demo] {cfg.model.type} at work on its views -> ' + ', '.join(
        draw_views(runner, osp.join(args.work_dir, f'{cfg.model.type}_'))))
    print_losses(loss_history(runner), lambda line: print('[demo] ' + line))
    return cfg.model.type, checkpoint


if __name__ == '__main__':
    main()
