"""The downstream loop: extracted backbones (with their recorded
architecture) reach the mmpose / mmseg / mmpretrain fine-tunes, bad files
are one line, and ``run_demo.py`` runs pretrain -> extract -> fine-tune ->
table end to end at a reduced size."""
import os.path as osp
import re
import subprocess
import sys

import cv2
import pytest
import torch
from conftest import ROOT
from downstream_helpers import build_scoped, restore_default_scope  # noqa

from projects.saip_dpal.benchmarks import HVP_TASKS, finetune_config
from projects.saip_dpal.utils import InputDataError
from projects.saip_dpal.utils.untrusted_files import read_backbone_file

SAIP_TINY = dict(type='VisionTransformer', arch='deit-tiny',
                 img_size=(256, 128), patch_size=16)


def save_backbone(path, arch, **build):
    """A file as extract_backbone.py writes it, random weights of ``arch``."""
    from mmpretrain.registry import MODELS
    torch.manual_seed(1)
    state = MODELS.build(dict(arch, **build)).state_dict()
    torch.save(dict(state_dict=state, meta=dict(backbone=arch)), path)
    return state


@pytest.mark.parametrize('task', list(HVP_TASKS))
def test_backbone_file_sets_arch_and_weights(task, synthetic_root,
                                             tmp_path):
    path = str(tmp_path / 'saip.pth')
    state = save_backbone(path, SAIP_TINY)
    cfg = finetune_config(task, path, str(synthetic_root), str(tmp_path),
                          epochs=3)
    data = osp.join(str(synthetic_root), HVP_TASKS[task].data) + '/'
    assert cfg.train_dataloader.dataset.data_root == data
    if 'ann_file' in cfg.val_evaluator:  # pose: COCO annotations moved too
        assert cfg.val_evaluator.ann_file.startswith(data)
    # the schedule follows the epochs; one validation, at the end
    assert cfg.train_cfg.max_epochs == cfg.train_cfg.val_interval == 3
    ends = [s.get('end', s.get('T_max')) for s in cfg.param_scheduler
            if s.get('by_epoch', True)]
    assert ends and all(e == 3 for e in ends)
    if task == 'pose':  # milestone 1 of 2 epochs -> 2 of 3 (rounded)
        steps = [s for s in cfg.param_scheduler if 'milestones' in s]
        assert steps[0].milestones == [2]
    model = build_scoped(cfg, cfg.default_scope)
    model.init_weights()
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(state)
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key
    # SAIP's 3 heads everywhere, not the task config's DPAL head counts
    assert [b.attn.num_heads for b in model.backbone.layers] == [3] * 12

    random = finetune_config(task, None, str(synthetic_root), str(tmp_path))
    assert random.model.backbone.init_cfg is None
    heads = build_scoped(random, random.default_scope).backbone.layers
    assert [b.attn.num_heads for b in heads] == [6] * 11 + [12]


def test_bad_backbone_files_are_one_line(synthetic_root, tmp_path):
    root, work = str(synthetic_root), str(tmp_path)
    small = str(tmp_path / 'vit_small.pth')
    save_backbone(small, dict(SAIP_TINY, arch='deit-small'))
    with pytest.raises(InputDataError, match=r'shape mismatches'):
        finetune_config('reid', small, root, work)
    swin = str(tmp_path / 'swin.pth')
    save_backbone(swin, dict(type='SwinTransformer', arch='tiny',
                             img_size=(256, 128)))
    with pytest.raises(InputDataError, match='holds a SwinTransformer'):
        finetune_config('pose', swin, root, work)
    with pytest.raises(InputDataError, match='backbone file not found'):
        finetune_config('parsing', str(tmp_path / 'nope.pth'), root, work)
    with pytest.raises(InputDataError, match='data not found'):
        finetune_config('reid', None, str(tmp_path / 'empty'), work)
    # the authors' files record no architecture: the config's is used and
    # the weights are still checked against it
    torch.save(dict(state_dict=read_backbone_file(small)[0]), small)
    with pytest.raises(InputDataError, match=r'does not fit the backbone'):
        finetune_config('reid', small, root, work)

    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/analysis_tools/'
                                  'hvp_benchmark.py'),
         '--backbone', f'S={tmp_path / "nope.pth"}', '--data', root],
        capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f'error: backbone file not found: {tmp_path / "nope.pth"}']


@pytest.mark.slow
def test_demo_end_to_end_reduced(synthetic_root, tmp_path):
    """pretraining (DPAL, SAIP) -> extraction -> ReID fine-tunes from
    random, DPAL and SAIP -> the table (the demo's pose and parsing
    fine-tunes are tested on their own in test_pose_configs.py and
    test_parsing_configs.py)."""
    work = tmp_path / 'demo'
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/run_demo.py'), '--data',
         str(synthetic_root), '--work-dir', str(work), '--max-epochs', '1',
         '--finetune-epochs', '1', '--tasks', 'reid'],
        capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    header = '| backbone | ReID mAP | ReID R1 |'
    assert header in lines, out.stdout[-2000:]
    rows = lines[lines.index(header) + 2:]
    assert [r.split('|')[1].strip() for r in rows] == [
        'random', 'DPAL', 'SAIP']
    for row in rows:
        values = [float(v) for v in row.strip('|').split('|')[1:]]
        assert len(values) == 2 and all(0 <= v <= 100 for v in values), row
    # each fine-tune logged its run: 3 backbones x 1 task
    assert len([x for x in lines if re.search(r' iterations in ', x)]) == 3
    # the extracted backbones carry their students' architectures
    _, dpal = read_backbone_file(str(work / 'DPAL_backbone.pth'))
    _, saip = read_backbone_file(str(work / 'SAIP_backbone.pth'))
    assert dpal['layer_cfgs'][-1] == dict(num_heads=12)
    assert saip['arch'] == 'deit-tiny' and 'inter_index' not in saip
    # the terminal shows progress and results, the logs go to files
    assert ' - mmengine - ' not in out.stdout
    for algorithm in ('DPAL', 'SAIP'):
        progress = [x for x in lines
                    if x.startswith(f'[demo] {algorithm} pretraining: ')]
        assert progress and re.search(r': (\d+)/\1 iterations, loss ',
                                      progress[-1]), progress
    logs = re.findall(r'; log (\S+\.log)$', out.stdout, re.M)
    assert len(logs) == 2 and all(osp.getsize(x) > 0 for x in logs)
    # and their pictures: 4 crops x (image, PCA, attention, shape mask)
    for algorithm in ('DPAL', 'SAIP'):
        path = work / f'{algorithm}_maps.png'
        assert f'shape mask -> {path}' in out.stdout
        picture = cv2.imread(str(path))
        assert picture.shape == (4 * (128 + 2), 4 * (64 + 2), 3)
        assert picture[:128, 66:130].std() > 0  # the PCA panel
    # and each model at work on its views
    for name in ('DPAL_shape_masks', 'SAIP_search_maps',
                 'SAIP_reconstructions'):
        assert str(work / f'{name}.png') in out.stdout
        assert cv2.imread(str(work / f'{name}.png')).std() > 0
