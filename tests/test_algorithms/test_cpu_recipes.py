"""The study's CPU recipes step as its chain runs them: SAIP pretrains the
ViT-S teacher, its extracted backbone is DPAL's teacher (every weight),
and the ViT-Ti students of both methods train."""
import os.path as osp

import pytest
import torch
from mmengine.registry import RUNNERS
from pretrain_helpers import tiny_cfg

from projects.saip_dpal.benchmarks.hvp_study import STUDY_CONFIGS
from projects.saip_dpal.models.utils import export_backbone
from projects.saip_dpal.utils.untrusted_files import read_backbone_file


def _two_steps(stage, root, work_dir, **model):
    cfg = tiny_cfg(STUDY_CONFIGS[stage], root, work_dir)
    cfg.model.update(model)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2,
                                        by_epoch=False)
    cfg.experiment_name = f'cpu_recipe_{stage}'
    runner = RUNNERS.build(cfg)
    before = {k: v.clone() for k, v in
              runner.model.backbone.state_dict().items()}
    runner.train()
    after = runner.model.backbone.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss))
    return runner, osp.join(work_dir, 'iter_2.pth')


@pytest.mark.slow
def test_teacher_then_students(synthetic_root, tmp_path):
    teacher_run, checkpoint = _two_steps('teacher', synthetic_root,
                                         tmp_path / 'teacher')
    assert teacher_run.model.backbone.arch_settings['embed_dims'] == 384
    teacher = str(tmp_path / 'teacher.pth')
    export_backbone(checkpoint, teacher)
    wanted, _ = read_backbone_file(teacher)

    dpal, _ = _two_steps('DPAL', synthetic_root, tmp_path / 'dpal',
                         teacher_checkpoint=teacher)
    got = dpal.model.teacher.state_dict()
    assert set(got) == set(wanted)
    for key, value in wanted.items():  # frozen: still the file's weights
        assert torch.equal(got[key], value), key
    assert dpal.model.backbone.arch_settings['embed_dims'] == 192

    saip, _ = _two_steps('SAIP', synthetic_root, tmp_path / 'saip')
    assert saip.model.backbone.arch_settings['embed_dims'] == 192
